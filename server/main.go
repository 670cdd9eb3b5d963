// Command kehou is the after-school service backend. With no arguments it
// serves HTTP; the subcommands in commands manage the database from the
// shell (`kehou help` lists them).
package main

import (
	"context"
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

// command is one subcommand of kehou: the words that name it, a synopsis of
// its arguments and a line on what it does, for the usage text.
type command struct {
	name  string // one or two words, e.g. "seed demo"
	args  string
	about string
	run   func(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error
}

// commands is every subcommand of kehou, in the order the usage lists them.
var commands = []command{
	{"serve", "", "serve HTTP on LISTEN_ADDR (also what kehou does with no arguments)", serveCmd},
	{"migrate", "", "apply the database migrations and exit", migrateCmd},
	{"user add", "--username U --role R [--school-id N] [--region-id N] [--password P]", "create a staff user (the first platform admin comes from here)", userAdd},
	{"seed demo", "[--small] [--today YYYY-MM-DD[THH:MM]]", "load a demo county built around a day (default today; with a time, at that moment) and print its logins (not in production; --small: a quarter of the students, for tests)", seedDemo},
	{"backup", "FILE", "write a consistent copy of the SQLite database", backup},
	{"healthcheck", "", "GET /healthz of the local server (the Docker HEALTHCHECK)", healthcheck},
	{"wechat-fake", "", "serve the fake WeChat API alone on WECHAT_FAKE_ADDR (not in production)", wechatFakeCmd},
}

// usageError is the answer to a command line kehou does not understand; its
// text is the usage, built from commands.
type usageError struct{}

func (usageError) Error() string {
	var sb strings.Builder
	sb.WriteString("usage: kehou [command]\n\ncommands:\n")
	for _, c := range commands {
		line := "  kehou " + c.name
		if c.args != "" {
			line += " " + c.args
		}
		fmt.Fprintf(&sb, "%s\n      %s\n", line, c.about)
	}
	sb.WriteString("  kehou help\n      print this text\n\nconfiguration is read from the environment (see README.md)")
	return sb.String()
}

// errUsage is returned for a command line kehou does not understand.
var errUsage error = usageError{}

// run is main without the process: it reads the environment through getenv
// and writes to stdout/stderr, so tests can drive every subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, errUsage.Error())
		return nil
	}
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd, rest, ok := findCommand(args)
	if !ok {
		return errUsage
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	return cmd.run(ctx, cfg, newLogger(cfg, stderr), rest, stdout)
}

// findCommand picks the command args name (by one word, or two) and
// returns it with the arguments that follow its name.
func findCommand(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// serveCmd is `kehou serve` (and kehou with no arguments).
func serveCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, _ io.Writer) error {
	if len(args) != 0 {
		return errUsage
	}
	return serve(ctx, cfg, log)
}

// migrateCmd is `kehou migrate`: opening the database applies the
// migrations.
func migrateCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, _ io.Writer) error {
	if len(args) != 0 {
		return errUsage
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	return db.Close()
}

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
