package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
				o.BrowseConns == 256 && o.RushConns == 512 && len(o.Scenarios) == 9 && o.ProvShape.Students() == 10_020 &&
				o.rollcallTeachers() == 300
		}, false},
		{"smokeIsTiny", []string{"-smoke"}, func(o benchOptions) bool {
			return o.Students == 200 && o.Clubs == 10 && o.Duration == time.Second && o.ProvShape.Students() == 1000 &&
				o.rollcallTeachers() == 3
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
	for _, name := range []string{"browse", "browse (open, 0.5× B_http)", "spread", "paid", "hot", "mixed (closed, saturation)", "mixed (open, 0.7× saturation)",
		"mixed (open, 2.0× saturation)", "rollcall", "notify", "notify+spread", "stats job", "dashboard reads"} {
		if got[name] == nil {
			t.Fatalf("scenario %q missing; output:\n%s", name, out.String())
		}
	}
	for _, name := range []string{"spread", "paid"} {
		if s := got[name]; s.Accepted+s.Shed != o.Students || s.Accepted == 0 {
			t.Errorf("%s: %d accepted + %d shed, want %d students", name, s.Accepted, s.Shed, o.Students)
		}
	}
	// The paid rush holds its seats: pending_payment answers, none enrolled.
	if s := got["paid"]; s.Counts["201 pending_payment"] == 0 || s.Counts["201 enrolled"] != 0 {
		t.Errorf("paid: answers %v, want held seats only", s.Counts)
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
	// The roll call: every teacher marked their 40 once, as the server timed it.
	if x, n := got["rollcall"].Extra, float64(o.rollcallTeachers()); x["attendance_ok"] != n ||
		x["server_attendance_answers"] != n || x["server_attendance_p99_ms"] <= 0 || x["client_attendance_p99_ms"] <= 0 {
		t.Errorf("rollcall: %v", x)
	}
	// WeChat Pay's notifications: every parent's payment applied once,
	// alone and beside the rush, timed by the server too.
	for _, name := range []string{"notify", "notify+spread"} {
		x := got[name].Extra
		if x["notifications"] != float64(o.Students) || x["payments_lost"] != 0 || x["payments_doubled"] != 0 ||
			x["notify_errors"] != 0 || x["server_notify_answers"] < float64(o.Students) || x["applied_per_sec"] <= 0 {
			t.Errorf("%s: %v", name, x)
		}
	}
	if s := got["notify+spread"]; s.Accepted+s.Shed < o.Students || s.Accepted == 0 {
		t.Errorf("notify+spread: %d enrollments accepted, %d shed, want %d students", s.Accepted, s.Shed, o.Students)
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
