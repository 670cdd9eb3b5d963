package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// findKehou settles the kehou binary the bench starts: -kehou PATH as
// given, or else ./server of the module the bench runs in, built with `go
// build` into the working directory, so the program measures the code next
// to it.
func (b *bench) findKehou(ctx context.Context) error {
	if b.o.Kehou != "" {
		p, err := filepath.Abs(b.o.Kehou)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			return fmt.Errorf("bench: -kehou %s is not a binary", b.o.Kehou)
		}
		b.o.Kehou = p
		return nil
	}
	p, err := buildKehou(ctx, b.dir)
	if err != nil {
		return err
	}
	b.logf("built %s", p)
	b.o.Kehou = p
	return nil
}

// buildKehou runs `go build -o DIR/kehou ./server` in the root of the
// module that holds the current directory and returns the binary's path.
func buildKehou(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("bench: go env GOMOD: %w (or pass -kehou PATH)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("bench: not inside the kehou module: run it from the repository or pass -kehou PATH")
	}
	exe := filepath.Join(dir, "kehou")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./server")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build ./server: %w\n%s", err, out)
	}
	return exe, nil
}
