// Command kehou-bench is the load program: it measures the enrollment rush
// on a real kehou. It starts the kehou binary as a separate process,
// prepares a school through the real HTTP paths, drives it with keep-alive
// connections from this process, checks the invariants in the database
// afterwards, measures the baselines the targets are ratios of in the same
// run, and prints one table. `kehou-bench hello` is the plain Fiber baseline
// server it starts as a child. docs/bench.md says how to read the table.
//
//	go build -o kehou-bench ./bench && ./kehou-bench -smoke
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kehou/models/modelstest/province"
)

// benchOptions is the command line of kehou-bench.
type benchOptions struct {
	Scenarios   []string
	Students    int
	Clubs       int
	Seats       int
	HotSeats    int
	BrowseConns int
	RushConns   int
	// NotifyConns are the connections WeChat Pay's notifications come on.
	NotifyConns int
	Duration    time.Duration
	// RollcallWindow spreads the roll-call scenario's teachers (and its
	// browse load) over this long; 0 means Duration.
	RollcallWindow time.Duration
	PG             string
	Province       bool
	// ProvShape is the size of the stats scenario's province.
	ProvShape province.Shape
	Smoke     bool
	Out       string
	Dir       string // working directory; "" = a temporary one
	Keep      bool   // keep the working directory and PostgreSQL schemas
	AccessLog bool   // let the server log every request (LOG_LEVEL=info)
	Env       string // KEHOU_ENV of the server
	Timeout   time.Duration
	Seed      int64
	// PprofDir, when set, gets a CPU profile of the server per scenario.
	PprofDir string

	// Engines are the engines the rush runs on: sqlite, and postgres when
	// PG is set (the PostgreSQL smoke test runs postgres alone).
	Engines []string

	// Kehou is the kehou binary to start ("" = build ./server into the
	// working directory first).
	Kehou string
	// Self is this program, started as the hello server; HelloEnv is
	// added to that child's environment (the tests start their own test
	// binary as the hello server).
	Self     string
	HelloEnv []string
}

// The stats scenario's province without -province (30 schools, 10,020
// students), and with -smoke (5 schools, 1,000 students).
var (
	smallProvince = province.Shape{Cities: 1, CountiesPerCity: 3, SchoolsPerCounty: 10, StudentsPerSchool: 334}
	smokeProvince = province.Shape{Cities: 1, CountiesPerCity: 1, SchoolsPerCounty: 5, StudentsPerSchool: 200}
)

// allScenarios names every scenario: the rush scenarios, then stats (on a
// data set of its own).
var allScenarios = append(rushScenarioNames(), "stats")

// parseBenchFlags reads the command line of kehou-bench.
func parseBenchFlags(args []string) (benchOptions, error) {
	o := benchOptions{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "scenarios to run: "+strings.Join(allScenarios, ","))
	fs.IntVar(&o.Students, "students", 6000, "students (and phone-bound parents) of the rush school")
	fs.IntVar(&o.Clubs, "clubs", 60, "clubs of the rush school (all at the same time, max 1 per student)")
	fs.IntVar(&o.Seats, "seats", 40, "seats per club")
	fs.IntVar(&o.HotSeats, "hot-seats", 30, "seats of the hot club")
	conns := fs.String("conns", "256/512", "connections: browse/rush (one number sets both)")
	fs.IntVar(&o.NotifyConns, "notify-conns", 256, "connections of the notify scenarios' burst")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each timed run")
	fs.DurationVar(&o.RollcallWindow, "rollcall-window", 0, "spread the roll call's teachers over this long (default: -duration; the issue's peak is 5m)")
	fs.StringVar(&o.PG, "pg", "", "PostgreSQL URL: also run the rush and B_pg there (in a fresh schema)")
	fs.BoolVar(&o.Province, "province", false, "stats on the full province set (3,000 schools, 1,002,000 students, 2.9 million enrollments)")
	fs.BoolVar(&o.Smoke, "smoke", false, "tiny sizes and 1 s runs (the CI smoke test)")
	fs.StringVar(&o.Out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&o.Dir, "dir", "", "working directory (default: a temporary one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the working directory and PostgreSQL schemas")
	fs.BoolVar(&o.AccessLog, "access-log", false, "let the server log every request (default LOG_LEVEL=warn)")
	fs.StringVar(&o.Env, "env", "production", "KEHOU_ENV of the server")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "per-request timeout of the load generator")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the random choices (club skew, order)")
	fs.StringVar(&o.PprofDir, "pprof", "", "save a CPU profile of the server per scenario into this directory (the server runs with KEHOU_ENV=dev)")
	fs.StringVar(&o.Kehou, "kehou", "", "the kehou binary to measure (default: go build ./server into the working directory)")
	engines := fs.String("engines", "", "engines to run on: sqlite,postgres (default sqlite, and postgres when -pg is set)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%v\n%s", err, flagUsage(fs))
	}
	o.Scenarios = nil
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return o, fmt.Errorf("bench: unknown scenario %q (have %s)", s, strings.Join(allScenarios, ","))
		}
		o.Scenarios = append(o.Scenarios, s)
	}
	b, r, ok := strings.Cut(*conns, "/")
	if !ok {
		r = b
	}
	var err1, err2 error
	o.BrowseConns, err1 = strconv.Atoi(b)
	o.RushConns, err2 = strconv.Atoi(r)
	if err1 != nil || err2 != nil || o.BrowseConns < 1 || o.RushConns < 1 {
		return o, fmt.Errorf("bench: -conns wants N or BROWSE/RUSH, not %q", *conns)
	}
	o.ProvShape = smallProvince
	if o.Province {
		o.ProvShape = province.Full
	}
	if o.Smoke {
		o.applySmoke(fs)
	}
	o.Engines = []string{"sqlite"}
	if o.PG != "" {
		o.Engines = append(o.Engines, "postgres")
	}
	if *engines != "" {
		o.Engines = nil
		for _, e := range strings.Split(*engines, ",") {
			switch e = strings.TrimSpace(e); {
			case e == "sqlite", e == "postgres" && o.PG != "":
				o.Engines = append(o.Engines, e)
			case e == "postgres":
				return o, errors.New("bench: -engines postgres needs -pg URL")
			default:
				return o, fmt.Errorf("bench: unknown engine %q", e)
			}
		}
	}
	if o.PprofDir != "" {
		// The server exposes its profiling endpoints only in dev mode.
		if set := flagSet(fs, "env"); set && o.Env != "dev" {
			return o, errors.New("bench: -pprof needs the server in dev mode (leave -env unset or set it to dev)")
		}
		o.Env = "dev"
	}
	if o.Students < 1 || o.Clubs < 1 || o.Seats < 1 || o.HotSeats < 1 || o.Duration <= 0 {
		return o, errors.New("bench: -students, -clubs, -seats, -hot-seats and -duration must be positive")
	}
	return o, nil
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// flagUsage is the usage text of the flags.
func flagUsage(fs *flag.FlagSet) string {
	var sb strings.Builder
	sb.WriteString("usage: kehou-bench [flags] | kehou-bench hello\n")
	fs.SetOutput(&sb)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return sb.String()
}

// applySmoke shrinks every size the user did not set on the command line.
func (o *benchOptions) applySmoke(fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["students"] {
		o.Students = 200
	}
	if !set["clubs"] {
		o.Clubs = 10
	}
	if !set["seats"] {
		o.Seats = 10
	}
	if !set["hot-seats"] {
		o.HotSeats = 5
	}
	if !set["conns"] {
		o.BrowseConns, o.RushConns = 16, 32
	}
	if !set["duration"] {
		o.Duration = time.Second
	}
	if !set["notify-conns"] {
		o.NotifyConns = 16
	}
	if !set["province"] {
		o.ProvShape = smokeProvince
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kehou-bench:", err)
		os.Exit(1)
	}
}

// run is `kehou-bench [flags]` and `kehou-bench hello`.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "hello" {
		return serveHello(ctx, os.Getenv("LISTEN_ADDR"))
	}
	o, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
	if o.Self, err = os.Executable(); err != nil {
		return err
	}
	if o.PprofDir != "" {
		if err := os.MkdirAll(o.PprofDir, 0o750); err != nil {
			return err
		}
	}
	rep, err := runBench(ctx, o, stdout)
	if rep != nil && o.Out != "" {
		if werr := rep.writeJSON(o.Out); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// runBench runs the baselines and the chosen scenarios and prints the table.
// It returns the report even when a step failed, with what was measured.
func runBench(ctx context.Context, o benchOptions, out io.Writer) (*benchReport, error) {
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "kehou-bench-")
		if err != nil {
			return nil, err
		}
		dir = d
		if !o.Keep {
			defer os.RemoveAll(d)
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	b := &bench{o: o, dir: dir, out: out, rep: newBenchReport(o)}
	err := b.findKehou(ctx)
	if err == nil {
		err = b.run(ctx)
	}
	if err != nil {
		b.logf("stopped: %v", err)
	}
	if err != nil {
		b.rep.Error = err.Error()
	}
	b.rep.finish()
	b.rep.print(out)
	return b.rep, err
}

// bench is one run of kehou-bench.
type bench struct {
	o   benchOptions
	dir string
	out io.Writer
	rep *benchReport
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (b *bench) want(s string) bool { return slices.Contains(b.o.Scenarios, s) }

func (b *bench) run(ctx context.Context) error {
	rush := slices.ContainsFunc(rushScenarioNames(), b.want)
	if rush {
		if err := b.httpBaselines(ctx); err != nil {
			return err
		}
		if slices.Contains(b.o.Engines, "sqlite") {
			if b.want("spread") || b.want("paid") {
				if err := b.sqlBaseline(ctx, "sqlite", "sqlite:"+filepath.Join(b.dir, "bsql.db")); err != nil {
					return err
				}
			}
			if err := b.rushOn(ctx, "sqlite", "sqlite:"+filepath.Join(b.dir, "bench.db")); err != nil {
				return err
			}
		}
		if slices.Contains(b.o.Engines, "postgres") {
			url, drop, err := pgFreshSchema(ctx, b.o.PG, b.o.Keep)
			if err != nil {
				return err
			}
			defer drop()
			if err := b.sqlBaseline(ctx, "postgres", url); err != nil {
				return err
			}
			url2, drop2, err := pgFreshSchema(ctx, b.o.PG, b.o.Keep)
			if err != nil {
				return err
			}
			defer drop2()
			if err := b.rushOn(ctx, "postgres", url2); err != nil {
				return err
			}
		}
	}
	if b.want("stats") {
		// The stats target is on SQLite; the PostgreSQL smoke test runs it
		// on PostgreSQL.
		if slices.Contains(b.o.Engines, "sqlite") {
			return b.statsOn(ctx, "sqlite", "sqlite:"+filepath.Join(b.dir, "province.db"))
		}
		url, drop, err := pgFreshSchema(ctx, b.o.PG, b.o.Keep)
		if err != nil {
			return err
		}
		defer drop()
		return b.statsOn(ctx, "postgres", url)
	}
	return nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}
