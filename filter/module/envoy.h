// The part of Envoy 1.40's dynamic-module ABI that authgate uses, declared
// for cgo: two buffer shapes and the Envoy callbacks the module calls.
// Written from the ABI facts in docs/envoy-module.md (Envoy's
// source/extensions/dynamic_modules/abi/abi.h at v1.40.0).
//
// Envoy's opaque handles (a filter configuration, a stream, a scheduler)
// are declared as uintptr_t, which has the size and calling convention of
// a pointer on the 64-bit platforms Envoy supports; the module keeps them
// as integers and never dereferences them. Enums travel as uint32_t.
// The hooks the module exports are not declared here: cgo writes their
// prototypes from the Go signatures in hooks.go.

#ifndef AUTHGATE_ENVOY_H
#define AUTHGATE_ENVOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ag_buffer is a run of bytes, owned by whoever the call says: Envoy's
// buffers are valid until the hook that received them returns, the
// module's only for the duration of the callback it passes them to.
typedef struct {
  const char* ptr;
  size_t length;
} ag_buffer;

// ag_header is one header name and value, laid out as the ABI's header
// structs of both owners.
typedef struct {
  const char* key;
  size_t key_length;
  const char* value;
  size_t value_length;
} ag_header;

// Logging, from any thread.
void envoy_dynamic_module_callback_log(uint32_t level, ag_buffer message);
bool envoy_dynamic_module_callback_log_enabled(uint32_t level);

// Headers of the current stream: the size, then a copy of the entries into
// an array of that size. A null value removes the header.
size_t envoy_dynamic_module_callback_http_get_headers_size(uintptr_t filter, uint32_t header_type);
bool envoy_dynamic_module_callback_http_get_headers(uintptr_t filter, uint32_t header_type,
                                                    ag_header* out);
bool envoy_dynamic_module_callback_http_set_header(uintptr_t filter, uint32_t header_type,
                                                   ag_buffer key, ag_buffer value);

// A local reply: status, headers, body and the response-code details.
void envoy_dynamic_module_callback_http_send_response(uintptr_t filter, uint32_t status,
                                                      ag_header* headers, size_t headers_size,
                                                      ag_buffer body, ag_buffer details);

// A request attribute as a string, in Envoy's memory.
bool envoy_dynamic_module_callback_http_filter_get_attribute_string(uintptr_t filter,
                                                                    uint32_t attribute_id,
                                                                    ag_buffer* out);

// An HTTP request to a cluster, tied to the stream; the answer comes to the
// stream's callout-done hook. Returns the init result; *callout_id is set on
// success.
uint32_t envoy_dynamic_module_callback_http_filter_http_callout(
    uintptr_t filter, uint64_t* callout_id, ag_buffer cluster, ag_header* headers,
    size_t headers_size, ag_buffer body, uint64_t timeout_milliseconds);

// Resumes a stream paused in its request headers.
void envoy_dynamic_module_callback_http_filter_continue_decoding(uintptr_t filter);

// The stream's scheduler: created on its worker, committed from any thread,
// deleted by the module.
uintptr_t envoy_dynamic_module_callback_http_filter_scheduler_new(uintptr_t filter);
void envoy_dynamic_module_callback_http_filter_scheduler_commit(uintptr_t scheduler,
                                                                uint64_t event_id);
void envoy_dynamic_module_callback_http_filter_scheduler_delete(uintptr_t scheduler);

// Metrics of a filter configuration, defined while it is created.
uint32_t envoy_dynamic_module_callback_http_filter_config_define_counter(
    uintptr_t config, ag_buffer name, ag_buffer* label_names, size_t label_names_length,
    size_t* id);
uint32_t envoy_dynamic_module_callback_http_filter_config_define_histogram(
    uintptr_t config, ag_buffer name, ag_buffer* label_names, size_t label_names_length,
    size_t* id);
uint32_t envoy_dynamic_module_callback_http_filter_config_increment_counter(
    uintptr_t config, size_t id, ag_buffer* label_values, size_t label_values_length,
    uint64_t value);
uint32_t envoy_dynamic_module_callback_http_filter_config_record_histogram_value(
    uintptr_t config, size_t id, ag_buffer* label_values, size_t label_values_length,
    uint64_t value);

#endif
