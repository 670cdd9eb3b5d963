package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
	"kehou/models/modelstest"
	"kehou/models/modelstest/province"
)

// TestMain lets the test binary double as the hello server the bench
// starts (`kehou-bench hello`): with KEHOU_BENCH_HELLO=1 it serves instead
// of running the tests.
func TestMain(m *testing.M) {
	if os.Getenv("KEHOU_BENCH_HELLO") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := serveHello(ctx, os.Getenv("LISTEN_ADDR"))
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "hello:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if testKehou.dir != "" {
		_ = os.RemoveAll(testKehou.dir)
	}
	os.Exit(code)
}

// testKehou is the kehou binary the tests measure, built once per test
// process from ./server.
var testKehou struct {
	once      sync.Once
	dir, path string
	err       error
}

// kehouBinary builds ./server (once) and returns the binary's path.
func kehouBinary(t *testing.T) string {
	t.Helper()
	testKehou.once.Do(func() {
		if testKehou.dir, testKehou.err = os.MkdirTemp("", "kehou-bench-test-"); testKehou.err == nil {
			testKehou.path, testKehou.err = buildKehou(context.Background(), testKehou.dir)
		}
	})
	if testKehou.err != nil {
		t.Fatal(testKehou.err)
	}
	return testKehou.path
}

// smokeOptions are the options of `kehou-bench -smoke` with this test
// binary as the hello server (the kehou binary is set by the tests that
// start one).
func smokeOptions(t *testing.T, args ...string) benchOptions {
	t.Helper()
	o, err := parseBenchFlags(append([]string{"-smoke"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	if o.Self, err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	o.HelloEnv = []string{"KEHOU_BENCH_HELLO=1"}
	o.Dir = t.TempDir()
	return o
}

func TestBenchFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(benchOptions) bool
		wantErr bool
	}{
		{"defaultsAreTheTargetSizes", nil, func(o benchOptions) bool {
			return o.Students == 6000 && o.Clubs == 60 && o.Seats == 40 && o.HotSeats == 30 &&
				o.BrowseConns == 256 && o.RushConns == 512 && len(o.Scenarios) == 5 && o.ProvShape.Students() == 10_020
		}, false},
		{"smokeIsTiny", []string{"-smoke"}, func(o benchOptions) bool {
			return o.Students == 200 && o.Clubs == 10 && o.Duration == time.Second && o.ProvShape.Students() == 1000
		}, false},
		{"smokeKeepsWhatIsSet", []string{"-smoke", "-students", "300"}, func(o benchOptions) bool {
			return o.Students == 300 && o.Clubs == 10
		}, false},
		{"provinceIsFullSize", []string{"-province"}, func(o benchOptions) bool {
			return o.ProvShape == province.Full
		}, false},
		{"oneConnsSetsBoth", []string{"-conns", "64"}, func(o benchOptions) bool {
			return o.BrowseConns == 64 && o.RushConns == 64
		}, false},
		{"scenarioSubset", []string{"-scenarios", "hot, spread"}, func(o benchOptions) bool {
			return strings.Join(o.Scenarios, ",") == "hot,spread"
		}, false},
		{"pgAddsPostgres", []string{"-pg", "postgres://x"}, func(o benchOptions) bool {
			return strings.Join(o.Engines, ",") == "sqlite,postgres"
		}, false},
		{"enginesPostgresOnly", []string{"-pg", "postgres://x", "-engines", "postgres"}, func(o benchOptions) bool {
			return strings.Join(o.Engines, ",") == "postgres"
		}, false},
		{"enginesPostgresWithoutURL", []string{"-engines", "postgres"}, nil, true},
		{"unknownScenario", []string{"-scenarios", "browse,nap"}, nil, true},
		{"badConns", []string{"-conns", "a/b"}, nil, true},
		{"zeroSeats", []string{"-seats", "0"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseBenchFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
}

// TestBenchInvariantsCatchViolations proves each invariant query fails on a
// database that breaks it (and passes on a sound one).
func TestBenchInvariantsCatchViolations(t *testing.T) {
	tests := []struct {
		name    string
		breaks  []string // SQL that breaks the state; none = sound
		fails   []string // the invariants that must fail
		extraOK bool     // the rows still match the answers
	}{
		{"soundStatePasses", nil, nil, true},
		{"oversellByRows", []string{`INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, rank, applied_by, created_at, updated_at)
			SELECT s.id, {hot}, s.school_id, {term}, 'enrolled', 0, {user}, {now}, {now} FROM students s WHERE s.id > {base} + 10 AND s.id <= {base} + 13`},
			[]string{"enrolled rows <= capacity (no oversell)", "counters match rows"}, false},
		{"counterDrift", []string{`UPDATE offerings SET enrolled_count = enrolled_count - 1 WHERE id = {hot}`},
			[]string{"counters match rows"}, true},
		{"waitlistGap", []string{`INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, waitlist_position, rank, applied_by, created_at, updated_at)
			VALUES ({base} + 20, {hot}, {school}, {term}, 'waitlisted', 2, 0, {user}, {now}, {now})`,
			`UPDATE offerings SET waitlisted_count = 1 WHERE id = {hot}`},
			[]string{"waitlist positions are 1..N per offering"}, false},
		{"twoOverlappingClubsOverMax", []string{`INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, rank, applied_by, created_at, updated_at)
			VALUES ({base}, {club}, {school}, {term}, 'enrolled', 0, {user}, {now}, {now})`,
			`UPDATE offerings SET enrolled_count = 1 WHERE id = {club}`},
			[]string{"no student over max_clubs", "no overlapping enrolled clubs"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := modelstest.MustOpenDB(t)
			fx, err := seedTxBaseline(ctx, db, 50, 2, 3)
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, _ := db.W.DB()
			upd := "UPDATE offerings SET enrolled_count = enrolled_count + 1, updated_at = ? WHERE id = ? AND enrolled_count < capacity"
			ins := `INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, rank, applied_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, 'enrolled', 0, ?, ?, ?)`
			if db.Dialect == models.Postgres {
				upd, ins = rebindDollar(upd), rebindDollar(ins)
			}
			want := liveCounts{}
			for i := int64(0); i < 5; i++ { // 5 try the 3 hot seats
				key, err := enrollTx(ctx, sqlDB, upd, ins, fx.studentBase+i, fx.hot, fx)
				if err != nil {
					t.Fatal(err)
				}
				if key == "enrolled" {
					want.add(fx.hot, "enrolled", 1)
				}
			}
			for _, b := range tt.breaks {
				q := strings.NewReplacer("{hot}", fmt.Sprint(fx.hot), "{club}", fmt.Sprint(fx.clubs[0]), "{term}", fmt.Sprint(fx.termID),
					"{user}", fmt.Sprint(fx.userID), "{base}", fmt.Sprint(fx.studentBase), "{school}", fmt.Sprint(fx.schoolID),
					"{now}", "CURRENT_TIMESTAMP").Replace(b)
				if err := db.W.Exec(q).Error; err != nil {
					t.Fatal(err)
				}
			}
			res, err := checkInvariantsOn(ctx, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if shouldFail := slices.Contains(tt.fails, r.Name); r.OK == shouldFail {
					t.Errorf("invariant %q ok=%v (%s), want ok=%v", r.Name, r.OK, r.Detail, !shouldFail)
				}
			}
			res, err = checkInvariantsOn(ctx, db, want)
			if err != nil {
				t.Fatal(err)
			}
			last := res[len(res)-1]
			if last.OK != tt.extraOK {
				t.Errorf("%s ok=%v (%s), want %v", last.Name, last.OK, last.Detail, tt.extraOK)
			}
		})
	}
}

// TestBenchLoadLoops drives the hello baseline server (a child process)
// with both load loops and checks what they counted and the peak RSS read.
func TestBenchLoadLoops(t *testing.T) {
	ctx := context.Background()
	o := smokeOptions(t)
	spec := childSpec{exe: o.Self, args: []string{"hello"}, env: o.HelloEnv, logFile: o.Dir + "/hello2.log"}
	p, err := startChild(ctx, "hello", spec, "/hello")
	if err != nil {
		t.Fatal(err)
	}
	lc := newLoadClient(p.addr, 8, time.Second)
	t.Run("closedLoopStopsWhenWorkRunsOut", func(t *testing.T) {
		st := closedLoop(ctx, lc, 8, 0, func(i int64) (loadRequest, bool) {
			return loadRequest{Method: "GET", Path: "/hello"}, i < 100
		})
		if st.Requests != 100 || st.Counts["200"] != 100 {
			t.Fatalf("requests %d counts %v", st.Requests, st.Counts)
		}
	})
	t.Run("openLoopKeepsItsRate", func(t *testing.T) {
		st := openLoop(ctx, lc, 8, 200, 500*time.Millisecond, func(i int64) loadRequest {
			if i%2 == 0 {
				return loadRequest{Method: "GET", Path: "/nowhere", Tag: "miss"}
			}
			return loadRequest{Method: "GET", Path: "/hello", Tag: "hit"}
		})
		if st.Requests != 100 || st.Counts["200"] != 50 || st.Counts["404"] != 50 {
			t.Fatalf("requests %d counts %v", st.Requests, st.Counts)
		}
	})
	lc.close()
	peak := p.stop()
	if peak <= 0 {
		t.Fatalf("peak RSS of the hello server = %d", peak)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestBenchOpenLoopOverload: arrivals faster than one connection's server
// can answer them. Those answered later than the timeout after their
// scheduled start count as timeouts, whether they waited in the queue or
// were answered late, and no exchange is cut short on the wire: the one
// connection serves the whole loop (cutting an exchange at its arrival's
// deadline would close the connection and turn an overload into
// reconnects).
func TestBenchOpenLoopOverload(t *testing.T) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/slow", func(c *fiber.Ctx) error {
		time.Sleep(50 * time.Millisecond)
		return c.SendString("ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	go func() { _ = app.Listener(cl) }()
	defer func() { _ = app.Shutdown() }()

	const timeout = 300 * time.Millisecond
	lc := newLoadClient(ln.Addr().String(), 1, timeout)
	defer lc.close()
	// 20 arrivals 25 ms apart, each answer 50 ms: from the 12th on, an
	// answer comes more than 300 ms after its arrival.
	st := openLoop(context.Background(), lc, 1, 40, 500*time.Millisecond, func(int64) loadRequest {
		return loadRequest{Method: "GET", Path: "/slow"}
	})
	late, queued := st.Counts["error timeout"], st.Counts[queuedTimeoutKey]
	if st.Requests != 20 || st.Counts["200"]+late+queued != 20 {
		t.Fatalf("requests %d, counts %v", st.Requests, st.Counts)
	}
	// Answers in time, answers too late, and arrivals that waited past
	// their timeout and were never sent.
	if st.Counts["200"] == 0 || late == 0 || queued == 0 {
		t.Fatalf("counts %v: want answers, late answers and queued timeouts", st.Counts)
	}
	if n := summarize(st).Errors; n != late+queued {
		t.Fatalf("%d errors, want every timeout (%d)", n, late+queued)
	}
	for _, s := range st.samples {
		if s.status == 200 && s.lat > timeout {
			t.Fatalf("an answer %v after its arrival counted as answered", s.lat)
		}
	}
	if n := cl.n.Load(); n != 1 {
		t.Fatalf("%d connections opened, want 1", n)
	}
}

// TestBenchSlowWindows: an open loop's samples are cut into windows by
// scheduled start (end less latency), and a window is slow when its p99 is
// over the limit; samples dropped before they were sent do not count.
func TestBenchSlowWindows(t *testing.T) {
	ms := time.Millisecond
	var st loadStats
	add := func(start, lat time.Duration, status int) {
		st.samples = append(st.samples, sample{lat: lat, end: start + lat, status: status})
	}
	for i := range 100 {
		at := time.Duration(i) * 10 * ms // 0–990 ms: four windows of 250 ms
		lat := 2 * ms
		if at >= 500*ms && at < 750*ms {
			lat = 30 * ms // the third window stalls (its samples end in the fourth)
		}
		add(at, lat, 200)
	}
	add(1200*ms, 0, 0) // dropped by the generator: no window of its own
	if slow, total := slowWindows(st, 250*ms, 10*ms); slow != 1 || total != 4 {
		t.Fatalf("slow %d of %d windows, want 1 of 4", slow, total)
	}
	add(1100*ms, 10*time.Second, 0) // a timeout is slow
	if slow, total := slowWindows(st, 250*ms, 10*ms); slow != 2 || total != 5 {
		t.Fatalf("with a timeout: slow %d of %d windows, want 2 of 5", slow, total)
	}
}

// TestBenchCPUTime reads a process's CPU time from /proc (here the test's
// own, while it spins) and compares it with getrusage's.
func TestBenchCPUTime(t *testing.T) {
	self := &childProc{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// Spin until the kernel's own account says 300 ms of CPU were used,
	// however long that takes on a busy machine.
	before, r0 := self.cpuTime(), rusage()
	x := 0
	for rusage()-r0 < 300*time.Millisecond {
		x++
	}
	after, used := self.cpuTime(), rusage()-r0
	// /proc counts in ticks of 10 ms: allow a few either side.
	if d := after - before; d < used-50*time.Millisecond || d > used+50*time.Millisecond {
		t.Fatalf("/proc CPU time moved %v while getrusage counted %v (%d turns)", d, used, x)
	}
	if us := cpuPerAnswer(time.Second, 3*time.Second, 1000); us != 2000 {
		t.Fatalf("2 s over 1,000 answers = %v µs each, want 2000", us)
	}
}

// TestBenchMachineBusy: every CPU spinning reads as a busy machine (other
// processes can only add to it), and the share stays a percentage.
func TestBenchMachineBusy(t *testing.T) {
	if _, total := machineTicks(); total == 0 {
		t.Skip("no /proc/stat")
	}
	busy := machineBusy(func() {
		var wg sync.WaitGroup
		for range runtime.NumCPU() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for spin := time.Now(); time.Since(spin) < 300*time.Millisecond; {
				}
			}()
		}
		wg.Wait()
	})
	if busy < 50 || busy > 100 {
		t.Fatalf("machine %.1f%% busy while every CPU spun for 300 ms", busy)
	}
}

// TestBenchProvinceSet builds the stats scenario's smoke province on both
// engines and checks its shape and that it is a state the enrollment rules
// allow.
func TestBenchProvinceSet(t *testing.T) {
	ctx := context.Background()
	url := modelstest.URL(t)
	ps, err := buildProvince(ctx, url, smokeProvince)
	if err != nil {
		t.Fatal(err)
	}
	db := modelstest.Open(t, url)
	counts := map[string]int64{}
	for _, tbl := range []string{"regions", "schools", "terms", "offerings", "students", "enrollments"} {
		var n int64
		if err := db.R.Raw("SELECT count(*) FROM " + tbl).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		counts[tbl] = n
	}
	want := map[string]int64{"regions": 3, "schools": 5, "terms": 5, "offerings": 60, "students": 1000, "enrollments": 3000}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d rows, want %d", k, counts[k], v)
		}
	}
	if ps.Enrollments != 3000 {
		t.Errorf("ps.Enrollments = %d", ps.Enrollments)
	}
	var county models.Region
	if err := db.R.First(&county, ps.County).Error; err != nil || county.Path != "/1/2/3/" || county.Level != 3 {
		t.Errorf("county = %+v, %v", county, err)
	}
	res, err := checkInvariantsOn(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK {
			t.Errorf("invariant %s: %s", r.Name, r.Detail)
		}
	}
}

// TestBenchSmoke runs `kehou-bench -smoke` end to end — baselines, data
// prepared over HTTP against a kehou child process, every scenario, the
// invariants in the database and the stats job on a small province — on
// SQLite, or on PostgreSQL alone when TEST_DATABASE_URL is set. It checks
// what was counted, never how fast (timings are the program's output).
func TestBenchSmoke(t *testing.T) {
	o := smokeOptions(t, "-duration", "300ms")
	o.Kehou = kehouBinary(t)
	if pg := modelstest.PostgresURL(); pg != "" {
		o.PG, o.Engines = pg, []string{"postgres"}
	}
	var out bytes.Buffer
	rep, err := runBench(context.Background(), o, &out)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	got := map[string]*scenarioResult{}
	for _, s := range rep.Scenarios {
		got[s.Name] = s
		if !allOK(s.Invariants) {
			t.Errorf("%s: invariants %+v", s.Name, s.Invariants)
		}
		if s.Errors != 0 {
			t.Errorf("%s: %d errors: %v", s.Name, s.Errors, s.Counts)
		}
		if s.Requests == 0 {
			t.Errorf("%s: no requests", s.Name)
		}
	}
	for _, name := range []string{"browse", "browse (open, 0.5× B_http)", "spread", "hot", "mixed (closed, saturation)", "mixed (open, 0.7× saturation)",
		"mixed (open, 2.0× saturation)", "stats job", "dashboard reads"} {
		if got[name] == nil {
			t.Fatalf("scenario %q missing; output:\n%s", name, out.String())
		}
	}
	if s := got["spread"]; s.Accepted+s.Shed != o.Students || s.Accepted == 0 {
		t.Errorf("spread: %d accepted + %d shed, want %d students", s.Accepted, s.Shed, o.Students)
	}
	// The server's own latency, from its histogram, beside the client's.
	for name, routes := range map[string][]string{"browse (open, 0.5× B_http)": {"browse"},
		"mixed (open, 0.7× saturation)": {"browse", "enroll"}} {
		for _, r := range routes {
			if x := got[name].Extra; x["server_"+r+"_answers"] == 0 || x["server_"+r+"_p99_ms"] <= 0 || x["client_"+r+"_p99_ms"] <= 0 {
				t.Errorf("%s: no server latency of %s: %v", name, r, x)
			}
		}
	}
	if s := got["hot"]; s.Accepted != o.HotSeats {
		t.Errorf("hot: %d enrolled, want %d", s.Accepted, o.HotSeats)
	}
	if s := got["stats job"]; len(s.Invariants) == 0 {
		t.Errorf("stats job: the overview was not checked")
	}
	if s := got["spread"]; s.PeakRSSMB <= 0 {
		t.Errorf("spread: no peak RSS")
	}
	want := []string{"B_http@16", "B_http@32"}
	if o.Engines[0] == "sqlite" {
		want = append(want, "B_sql")
	} else {
		want = append(want, "B_pg", "B_pg(hot)")
	}
	for _, b := range want {
		if rep.Baselines[b] == nil || rep.Baselines[b].Ops == 0 {
			t.Fatalf("baseline %s missing", b)
		}
		for k := range rep.Baselines[b].Counts {
			if strings.HasPrefix(k, "error") {
				t.Errorf("baseline %s had errors: %v", b, rep.Baselines[b].Counts)
			}
		}
	}
	if hot := rep.Baselines["B_pg(hot)"]; hot != nil && hot.Counts["enrolled"] != o.HotSeats {
		t.Errorf("B_pg(hot) enrolled %d, want %d", hot.Counts["enrolled"], o.HotSeats)
	}
	for _, row := range rep.Targets {
		if row.Baseline != "" && row.BaseVal == 0 {
			t.Errorf("target %s/%s: baseline %s not measured", row.Scenario, row.Metric, row.Baseline)
		}
	}
	if !strings.Contains(out.String(), "| engine") {
		t.Errorf("no table printed")
	}
}
