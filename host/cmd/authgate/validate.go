package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/authgate/authgate/core/config"
)

// validate checks a configuration the way the filter does at plugin start.
func (c *cli) validate(args []string) int {
	fs := c.flags("validate", "--config FILE")
	file := fs.String("config", "", "gateway configuration `FILE` (JSON; - for stdin)")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if *file == "" {
		c.usageError(fs, "--config is required")
		return exitUsage
	}
	plan, _, err := c.loadConfig(*file)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitUsage
	}
	// Warnings go to standard error, one a line: the configuration is
	// valid, and a script reading "ok:" still sees one line.
	for _, w := range plan.Warnings {
		fmt.Fprintf(c.stderr, "warning: %s: %s\n", displayName(*file), w)
	}
	fmt.Fprintf(c.stdout, "ok: %s\n", summary(plan))
	return exitOK
}

// loadConfig reads and validates a configuration file; its error starts with
// the file name, then the JSON path of the bad field.
func (c *cli) loadConfig(file string) (*config.Plan, []byte, error) {
	b, err := c.readInput(file)
	if err != nil {
		return nil, nil, err // *fs.PathError already names the file
	}
	plan, err := config.Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", displayName(file), err)
	}
	return plan, b, nil
}

// summary describes a plan in one line:
// "2 authorizers (jwt TOKEN ttl 300s, req REQUEST ttl 0s), 3 routes".
func summary(plan *config.Plan) string {
	names := sortedAuthorizers(plan)
	var b strings.Builder
	b.WriteString(plural(len(names), "authorizer"))
	for i, name := range names {
		a := plan.Authorizers[name]
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", name, a.Type)
		if a.IsLambda() {
			fmt.Fprintf(&b, " lambda %s", a.Function.Name)
		}
		fmt.Fprintf(&b, " ttl %ds", int(a.TTL.Seconds()))
		if i == len(names)-1 {
			b.WriteString(")")
		}
	}
	b.WriteString(", ")
	b.WriteString(plural(len(plan.Routes), "route"))
	return b.String()
}

func plural(n int, noun string) string {
	s := strconv.Itoa(n) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}
