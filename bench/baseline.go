package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"kehou/models"
)

// The baselines the targets are ratios of, measured in the same run on the
// same machine:
//
//	B_http       a plain Fiber JSON hello server in a child process, driven by
//	             the same load generator with the same connections;
//	B_sql        the raw enrollment transaction (conditional UPDATE of the
//	             seat counter + INSERT of the enrollment) through database/sql
//	             on the production SQLite connection (WAL, synchronous=NORMAL,
//	             busy_timeout, BEGIN IMMEDIATE, one writer), with as many
//	             concurrent callers as the rush has connections;
//	B_pg         the same SQL on PostgreSQL (the production pool);
//	B_pg(hot)    the same SQL, every caller on one offering of the hot club's
//	             seats: a few take a seat, the rest find it full.

// baselineResult is one measured baseline.
type baselineResult struct {
	Name    string         `json:"name"`
	Conns   int            `json:"conns"`
	Seconds float64        `json:"seconds"`
	Ops     int            `json:"ops"`
	PerSec  float64        `json:"per_sec"`
	P50ms   float64        `json:"p50_ms"`
	P99ms   float64        `json:"p99_ms"`
	Counts  map[string]int `json:"counts,omitempty"`
	// SlowWindows of Windows (open loops only): see slowWindows.
	SlowWindows int `json:"slow_windows,omitempty"`
	Windows     int `json:"windows,omitempty"`
	// CPUPerAnswerUS is the server's CPU time per answer in the open loop,
	// in microseconds.
	CPUPerAnswerUS float64 `json:"cpu_per_answer_us,omitempty"`
	// MachineBusyPct is how busy all CPUs were during the open loop
	// (machineBusy).
	MachineBusyPct float64 `json:"machine_busy_pct,omitempty"`
}

// httpBaselines measures B_http at the browse and the rush connections.
func (b *bench) httpBaselines(ctx context.Context) error {
	spec := childSpec{exe: b.o.Self, args: []string{"hello"}, env: b.o.HelloEnv,
		logFile: b.dir + "/hello.log"}
	p, err := startChild(ctx, "hello", spec, "/hello")
	if err != nil {
		return err
	}
	defer p.stop()
	for _, conns := range uniqueInts(b.o.BrowseConns, b.o.RushConns) {
		lc := newLoadClient(p.addr, conns, b.o.Timeout)
		st := closedLoop(ctx, lc, conns, b.o.Duration, func(int64) (loadRequest, bool) {
			return loadRequest{Method: "GET", Path: "/hello"}, true
		})
		lc.close()
		ok := st.count(func(s sample) bool { return s.status == 200 })
		p50, p99 := percentiles(st.samples)
		r := &baselineResult{Name: fmt.Sprintf("B_http@%d", conns), Conns: conns, Seconds: st.Elapsed.Seconds(),
			Ops: ok, PerSec: st.rate(ok), P50ms: p50, P99ms: p99, Counts: st.Counts}
		b.rep.addBaseline(r)
		b.logf("%s: %.0f req/s  p50 %.2f ms  p99 %.2f ms  %v", r.Name, r.PerSec, p50, p99, st.Counts)
		if conns != b.o.BrowseConns || r.PerSec <= 0 {
			continue
		}
		// The same open loop the browse latency is checked with, against
		// the hello server: what the load generator itself adds on this
		// machine at that arrival rate.
		rate := 0.5 * r.PerSec
		lc = newLoadClient(p.addr, conns, b.o.Timeout)
		cpu0 := p.cpuTime()
		busy := machineBusy(func() {
			st = openLoop(ctx, lc, conns, rate, b.o.Duration, func(int64) loadRequest {
				return loadRequest{Method: "GET", Path: "/hello"}
			})
		})
		cpu1 := p.cpuTime()
		lc.close()
		ok = st.count(func(s sample) bool { return s.status == 200 })
		p50, p99 = percentiles(st.samples)
		o := &baselineResult{Name: openHelloName(conns), Conns: conns, Seconds: st.Elapsed.Seconds(),
			Ops: ok, PerSec: st.rate(ok), P50ms: p50, P99ms: p99, Counts: st.Counts}
		o.SlowWindows, o.Windows = slowWindows(st, slowWindow, slowLimit)
		o.CPUPerAnswerUS = cpuPerAnswer(cpu0, cpu1, ok)
		o.MachineBusyPct = busy
		b.rep.addBaseline(o)
		b.logf("%s: %.0f req/s arriving at %.0f/s  p50 %.2f ms  p99 %.2f ms  %v; %d of %d quarter-seconds with p99 > 10 ms; server CPU %.1f µs per answer; machine %.0f%% busy",
			o.Name, o.PerSec, rate, p50, p99, st.Counts, o.SlowWindows, o.Windows, o.CPUPerAnswerUS, busy)
	}
	return ctx.Err()
}

// The windows of the open loops' slow-window count, and their limit: the
// browse latency target.
const (
	slowWindow = 250 * time.Millisecond
	slowLimit  = 10 * time.Millisecond
)

// openHelloName names the open-loop hello baseline at conns connections.
func openHelloName(conns int) string { return fmt.Sprintf("B_http@%d open 0.5×", conns) }

func uniqueInts(xs ...int) []int {
	var out []int
	for _, x := range xs {
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

// sqlBaseline measures B_sql (sqlite) or B_pg and B_pg(hot) (postgres) on a
// fresh database at url.
func (b *bench) sqlBaseline(ctx context.Context, engineName, url string) error {
	db, err := models.Open(url, models.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := models.Migrate(ctx, db); err != nil {
		return err
	}
	// Enough students that no (student, club) pair repeats in the run.
	students := max(b.o.Students, 50_000)
	fx, err := seedTxBaseline(ctx, db, students, b.o.Clubs, b.o.HotSeats)
	if err != nil {
		return err
	}
	sqlDB, err := db.W.DB()
	if err != nil {
		return err
	}
	name := "B_sql"
	if engineName == "postgres" {
		name = "B_pg"
	}
	// Spread: consecutive transactions go to different clubs and every one
	// takes a seat (capacity is not the limit here), so this is the rate of
	// accepted enrollments the engine can do.
	r := runTxBaseline(ctx, db.Dialect, sqlDB, b.o.RushConns, b.o.Duration, func(k int64) (int64, int64) {
		n := int64(len(fx.clubs))
		return fx.studentBase + (k/n)%int64(students), fx.clubs[k%n]
	}, fx)
	r.Name = name
	b.rep.addBaseline(r)
	b.logf("%s: %.0f enrollments/s  p50 %.2f ms  p99 %.2f ms  (%d conns) %v", r.Name, r.PerSec, r.P50ms, r.P99ms, r.Conns, r.Counts)
	if engineName != "postgres" {
		return ctx.Err()
	}
	h := runTxBaseline(ctx, db.Dialect, sqlDB, b.o.RushConns, b.o.Duration, func(k int64) (int64, int64) {
		return fx.studentBase + k%int64(students), fx.hot
	}, fx)
	h.Name = "B_pg(hot)"
	b.rep.addBaseline(h)
	b.logf("%s: %.0f transactions/s  p50 %.2f ms  p99 %.2f ms  %v", h.Name, h.PerSec, h.P50ms, h.P99ms, h.Counts)
	return ctx.Err()
}

// txFixture is the minimal data the raw enrollment transaction needs.
type txFixture struct {
	schoolID, termID, userID int64
	studentBase              int64
	clubs                    []int64
	hot                      int64
}

// seedTxBaseline inserts a school, a term, the students, clubs of unbounded
// capacity and one hot club of hotSeats.
func seedTxBaseline(ctx context.Context, db *models.DB, students, clubs, hotSeats int) (txFixture, error) {
	var fx txFixture
	now := time.Now().UTC()
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		exec := func(q string, args ...any) error { return tx.Exec(q, args...).Error }
		id := func(q string, args ...any) (int64, error) {
			var v int64
			err := tx.Raw(q+" RETURNING id", args...).Scan(&v).Error
			return v, err
		}
		var err error
		var region, school int64
		if region, err = id("INSERT INTO regions (name, code, path, level, created_at) VALUES ('基线区', ?, '/', 1, ?)", "BASE"+randomHex(4), now); err != nil {
			return err
		}
		if school, err = id("INSERT INTO schools (region_id, name, created_at) VALUES (?, '基线小学', ?)", region, now); err != nil {
			return err
		}
		fx.schoolID = school
		if fx.userID, err = id("INSERT INTO users (role, username, created_at, updated_at) VALUES ('platform_admin', ?, ?, ?)", "base"+randomHex(4), now, now); err != nil {
			return err
		}
		if fx.termID, err = id("INSERT INTO terms (school_id, name, starts_on, ends_on, max_clubs, created_at) VALUES (?, '基线学期', '2026-09-01', '2027-01-20', 1, ?)", school, now); err != nil {
			return err
		}
		newOffering := func(capacity int) (int64, error) {
			return id(`INSERT INTO offerings (school_id, term_id, kind, name, weekdays, start_min, end_min, capacity, grades,
				mode, waitlist, enroll_opens_at, enroll_closes_at, status, created_at, updated_at)
				VALUES (?, ?, 'club', '基线社团', 20, 990, 1080, ?, 126, 'fcfs', FALSE, ?, ?, 'published', ?, ?)`,
				school, fx.termID, capacity, now.Add(-time.Hour), now.Add(24*time.Hour), now, now)
		}
		for i := 0; i < clubs; i++ {
			o, err := newOffering(1 << 30)
			if err != nil {
				return err
			}
			fx.clubs = append(fx.clubs, o)
		}
		if fx.hot, err = newOffering(hotSeats); err != nil {
			return err
		}
		if err := exec(`INSERT INTO students (school_id, student_no, name, gender, grade, created_at, updated_at)
			`+seqSelect(db.Dialect, "CAST(? AS BIGINT)", "'S' || n", "'学生'", "'男'", "1 + n % 6", tsParam(db.Dialect), tsParam(db.Dialect)), school, now, now, students); err != nil {
			return err
		}
		return tx.Raw("SELECT min(id) FROM students WHERE school_id = ?", school).Scan(&fx.studentBase).Error
	})
	return fx, err
}

// seqSelect renders "SELECT cols FROM <the numbers 0..?-1 as n>" for the
// dialect (a recursive CTE on SQLite, generate_series on PostgreSQL); the
// first bind parameter is the count.
func seqSelect(d models.Dialect, cols ...string) string {
	list := strings.Join(cols, ", ")
	if d == models.Postgres {
		return "SELECT " + list + " FROM generate_series(0, CAST(? AS BIGINT) - 1) AS g(n)"
	}
	return "SELECT " + list + " FROM (WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < ?) SELECT n FROM seq)"
}

// tsParam is a timestamp bind parameter that PostgreSQL can type inside a
// SELECT list.
func tsParam(d models.Dialect) string {
	if d == models.Postgres {
		return "CAST(? AS TIMESTAMPTZ)"
	}
	return "?"
}

// runTxBaseline runs the raw enrollment transaction from conns goroutines
// for dur; pick names the (student, offering) of transaction k.
func runTxBaseline(ctx context.Context, d models.Dialect, db *sql.DB, conns int, dur time.Duration,
	pick func(k int64) (student, offering int64), fx txFixture) *baselineResult {
	upd := "UPDATE offerings SET enrolled_count = enrolled_count + 1, updated_at = ? WHERE id = ? AND enrolled_count < capacity"
	ins := `INSERT INTO enrollments (student_id, offering_id, school_id, term_id, status, rank, applied_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'enrolled', 0, ?, ?, ?)`
	if d == models.Postgres {
		upd, ins = rebindDollar(upd), rebindDollar(ins)
	}
	var seq atomic.Int64
	parts := make([][]sample, conns)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var local []sample
			for ctx.Err() == nil && time.Now().Before(deadline) {
				k := seq.Add(1) - 1
				student, offering := pick(k)
				t0 := time.Now()
				key, err := enrollTx(ctx, db, upd, ins, student, offering, fx)
				if err != nil {
					key = "error " + shortErr(err)
				}
				t1 := time.Now()
				local = append(local, sample{lat: t1.Sub(t0), end: t1.Sub(start), key: key})
			}
			parts[w] = local
		}(w)
	}
	wg.Wait()
	st := mergeSamples(parts, time.Since(start))
	okN := st.count(func(s sample) bool { return !strings.HasPrefix(s.key, "error") })
	p50, p99 := percentiles(st.samples)
	return &baselineResult{Conns: conns, Seconds: st.Elapsed.Seconds(), Ops: okN, PerSec: st.rate(okN),
		P50ms: p50, P99ms: p99, Counts: st.Counts}
}

// enrollTx is the raw enrollment transaction: take a seat with a
// conditional UPDATE, and when one was taken insert the enrollment.
func enrollTx(ctx context.Context, db *sql.DB, upd, ins string, student, offering int64, fx txFixture) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := time.Now().UTC()
	res, err := tx.ExecContext(ctx, upd, now, offering)
	if err != nil {
		return "", err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", err
	}
	key := "full"
	if n == 1 {
		if _, err := tx.ExecContext(ctx, ins, student, offering, fx.schoolID, fx.termID, fx.userID, now, now); err != nil {
			return "", err
		}
		key = "enrolled"
	}
	return key, tx.Commit()
}

// rebindDollar turns ? placeholders into $1, $2… for PostgreSQL.
func rebindDollar(q string) string {
	var sb strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// shortErr is an error's first line, cut short, for the counts.
func shortErr(err error) string {
	var s string
	if errors.Is(err, context.DeadlineExceeded) {
		s = "timeout"
	} else {
		s = err.Error()
	}
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
