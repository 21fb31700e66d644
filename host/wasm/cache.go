package wasm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"
)

// memoryCache keeps compiled filters in memory for the life of the
// process, so a second Host for the same binary (a reload, a test) skips
// compilation; wazero keys it by the module's content.
var memoryCache = wazero.NewCompilationCache()

// diskCaches holds one wazero cache per directory, so that every Host of
// the process using a directory shares its engine (and its in-memory
// copy of what the directory holds).
var diskCaches struct {
	sync.Mutex
	byDir map[string]wazero.CompilationCache
}

// DefaultCacheDir is where `authgate serve` keeps compiled filters: the
// user's cache directory (os.UserCacheDir) joined with authgate/wazero, or
// "" when the user has none (no $HOME or $XDG_CACHE_HOME).
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "authgate", "wazero")
}

// compilationCache returns the cache for dir ("" is the in-memory one).
func compilationCache(dir string) (wazero.CompilationCache, error) {
	if dir == "" {
		return memoryCache, nil
	}
	diskCaches.Lock()
	defer diskCaches.Unlock()
	if c, ok := diskCaches.byDir[dir]; ok {
		return c, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, err
	}
	if diskCaches.byDir == nil {
		diskCaches.byDir = map[string]wazero.CompilationCache{}
	}
	diskCaches.byDir[dir] = c
	return c, nil
}

// compile compiles the filter with the cache in cfg.CacheDir. A cache
// directory that cannot be used (not writable, a damaged entry) never
// stops the host: the filter is then compiled with the in-memory cache,
// and the cache's error is logged once that succeeds (an invalid filter
// fails both ways and reports its own error).
func compile(ctx context.Context, cfg *Config) (wazero.Runtime, wazero.CompiledModule, error) {
	if cfg.CacheDir == "" {
		return compileWith(ctx, memoryCache, cfg.Wasm)
	}
	cache, cacheErr := compilationCache(cfg.CacheDir)
	if cacheErr == nil {
		rt, compiled, err := compileWith(ctx, cache, cfg.Wasm)
		if err == nil {
			return rt, compiled, nil
		}
		cacheErr = err
	}
	rt, compiled, err := compileWith(ctx, memoryCache, cfg.Wasm)
	if err == nil {
		cfg.Logger.Warn("wasm: compilation cache unusable, compiled without it", "dir", cfg.CacheDir, "err", cacheErr)
	}
	return rt, compiled, err
}

func compileWith(ctx context.Context, cache wazero.CompilationCache, bin []byte) (wazero.Runtime, wazero.CompiledModule, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, nil, fmt.Errorf("wasm: compile: %w", err)
	}
	return rt, compiled, nil
}
