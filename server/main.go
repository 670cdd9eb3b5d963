// Command kehou is the after-school service backend. With no arguments it
// serves HTTP; subcommands manage the database from the shell:
//
//	kehou                       serve
//	kehou migrate               apply migrations and exit
//	kehou user add --username U --password P --role R [--school-id N] [--region-id N]
//	kehou seed demo             load a demo county and print its logins
//	kehou backup FILE           write a consistent copy of the database
//	kehou healthcheck           GET /healthz of the local server (Docker HEALTHCHECK)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kehou:", err)
		os.Exit(1)
	}
}

// errUsage is returned for a command line kehou does not understand.
var errUsage = errors.New(`usage: kehou [migrate | user add --username U --password P --role R [--school-id N] [--region-id N] | seed demo [--small] | backup FILE | healthcheck]`)

// run is main without the process: it reads the environment through getenv
// and writes to stdout/stderr, so tests can drive every subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if len(args) == 0 || args[0] == "serve" {
		return serve(ctx, cfg, log)
	}
	cmd := args[0]
	if len(args) > 1 && (cmd == "user" || cmd == "seed") {
		cmd += " " + args[1]
		args = args[2:]
	} else {
		args = args[1:]
	}
	switch cmd {
	case "migrate":
		db, err := openDB(ctx, cfg, log)
		if err != nil {
			return err
		}
		return db.Close()
	case "user add":
		return userAdd(ctx, cfg, log, args, stdout)
	}
	if fn, ok := extraCommands[cmd]; ok {
		return fn(ctx, cfg, log, args, stdout)
	}
	return errUsage
}

// extraCommands holds the subcommands defined in their own files
// (seed demo, backup), keyed by their words.
var extraCommands = map[string]func(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error{}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel))); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
