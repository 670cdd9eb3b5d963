package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCommands: the usage text names every command of the table, help
// prints it, and a command line that names none is a usage error.
func TestCommands(t *testing.T) {
	usage := errUsage.Error()
	for _, c := range commands {
		if !strings.Contains(usage, "kehou "+c.name) {
			t.Errorf("usage does not list %q:\n%s", c.name, usage)
		}
		if got, _, ok := findCommand(strings.Fields(c.name)); !ok || got.name != c.name {
			t.Errorf("findCommand(%q) = %q, %v", c.name, got.name, ok)
		}
	}
	t.Run("help", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"help"}, envFor(), &out, &bytes.Buffer{}); err != nil || out.String() != usage+"\n" {
			t.Fatalf("help = %v, %q", err, out.String())
		}
	})
	for _, args := range [][]string{{"nope"}, {"user"}, {"seed", "nope"}, {"migrate", "extra"}, {"serve", "extra"}} {
		t.Run("usage "+strings.Join(args, " "), func(t *testing.T) {
			if err := run(context.Background(), args, envFor(), &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
				t.Fatalf("run(%q) = %v, want the usage", args, err)
			}
		})
	}
}
