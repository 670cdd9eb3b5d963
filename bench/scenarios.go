package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// The rush scenarios. Each runs on a freshly started server over the same
// prepared school with every seat free (the enrollments of the previous
// scenario are deleted while the server is stopped), so each one's peak RSS
// and invariants are its own.

// rushOn prepares the school on engine name at dbURL and runs the chosen
// rush scenarios there.
func (b *bench) rushOn(ctx context.Context, name, dbURL string) error {
	b.logf("[%s] preparing %d students, %d parents, %d clubs × %d seats + a hot club of %d on %s",
		name, b.o.Students, b.o.Students, b.o.Clubs, b.o.Seats, b.o.HotSeats, redactURL(dbURL))
	e, err := b.newEngine(ctx, name, dbURL)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.start(ctx); err != nil {
		return err
	}
	if err := e.prepareRush(ctx); err != nil {
		return err
	}
	e.stop()
	if err := e.analyzeLikeAutovacuum(ctx); err != nil {
		return err
	}
	for _, s := range rushScenarios {
		if !b.want(s.name) {
			continue
		}
		if err := s.run(e, ctx); err != nil {
			return fmt.Errorf("%s on %s: %w", s.name, name, err)
		}
	}
	return nil
}

// rushScenarios are the scenarios run on the prepared school, in this
// order. Each runs its loads through phase (a fresh server, the seats
// freed, the invariants checked after) and adds its rows to the report.
var rushScenarios = []struct {
	name string
	run  func(e *engine, ctx context.Context) error
}{
	{"browse", (*engine).browse},
	{"spread", (*engine).spread},
	{"hot", (*engine).hot},
	{"mixed", (*engine).mixed},
}

// rushScenarioNames lists the names of rushScenarios.
func rushScenarioNames() []string {
	names := make([]string, len(rushScenarios))
	for i, s := range rushScenarios {
		names[i] = s.name
	}
	return names
}

// phase runs one load on a fresh server: reset the enrollments, start the
// server, renew tokens if old, run load, stop the server (reading its peak
// RSS), check the invariants.
func (e *engine) phase(ctx context.Context, name string, conns int, want func() liveCounts,
	load func(lc *loadClient) (*scenarioResult, error)) (*scenarioResult, error) {
	if err := e.resetEnrollments(ctx); err != nil {
		return nil, err
	}
	if err := e.start(ctx); err != nil {
		return nil, err
	}
	if err := e.refreshTokens(ctx, 8*time.Minute); err != nil {
		e.stop()
		return nil, err
	}
	lc := newLoadClient(e.srv.addr, conns, e.b.o.Timeout)
	waitProfile := e.profileDuring(name, int(e.b.o.Duration.Seconds())-1)
	res, err := load(lc)
	waitProfile()
	lc.close()
	peak := e.stop()
	if err != nil {
		return nil, err
	}
	res.Engine, res.Name, res.Conns = e.name, name, conns
	res.PeakRSSMB = float64(peak) / (1 << 20)
	var w liveCounts
	if want != nil {
		w = want()
	}
	if res.Invariants, err = e.checkInvariants(ctx, w); err != nil {
		return nil, err
	}
	e.b.rep.addScenario(res)
	res.describe(e.b.out)
	return res, nil
}

// summarize fills the common figures from a load; accepted enrollments are
// the 201 answers.
func summarize(st loadStats) *scenarioResult {
	r := &scenarioResult{Seconds: st.Elapsed.Seconds(), Requests: st.Requests, Counts: st.Counts, Extra: map[string]float64{}}
	answered := st.count(func(s sample) bool { return s.status != 0 })
	r.RPS = st.rate(answered)
	r.Accepted = st.count(func(s sample) bool { return s.status == 201 })
	r.AcceptedPerSec = st.rate(r.Accepted)
	r.Shed = st.count(func(s sample) bool { return isShed(s.status) })
	r.Errors = st.count(func(s sample) bool { return isError(s.status) })
	r.P50ms, r.P99ms = percentiles(st.samples)
	return r
}

func (e *engine) enrollRequest(p benchParent, offering int64, idem string, tag string) loadRequest {
	return loadRequest{Method: "POST", Path: "/api/v1/enrollments", Token: p.Token, IP: p.IP,
		Body:    []byte(`{"student_id":` + strconv.FormatInt(p.StudentID, 10) + `,"offering_id":` + strconv.FormatInt(offering, 10) + `}`),
		IdemKey: idem, Tag: tag}
}

func (e *engine) browseRequest(p benchParent) loadRequest {
	return loadRequest{Method: "GET", Path: e.offeringsPath(e.data), Token: p.Token, IP: p.IP, Tag: "read", Gzip: true}
}

// browse: parents list their school's offerings — a closed loop for the
// throughput, then, on the same warm server, an open loop at the target
// rate for the latency.
func (e *engine) browse(ctx context.Context) error {
	o, d := e.b.o, e.data
	rep := e.b.rep
	httpName := fmt.Sprintf("B_http@%d", o.BrowseConns)
	rate := 0.5 * rep.baseline(httpName)
	var open *scenarioResult
	res, err := e.phase(ctx, "browse", o.BrowseConns, nil, func(lc *loadClient) (*scenarioResult, error) {
		st := closedLoop(ctx, lc, o.BrowseConns, o.Duration, func(i int64) (loadRequest, bool) {
			return e.browseRequest(d.Parents[int(i)%len(d.Parents)]), true
		})
		r := summarize(st)
		ok := st.count(func(s sample) bool { return s.status == 200 })
		r.Extra["ok_per_sec"] = st.rate(ok)
		if rate > 0 && ctx.Err() == nil {
			waitProfile := e.profileDuring("browse (open)", int(o.Duration.Seconds())-1)
			defer waitProfile()
			cpu0 := e.srv.cpuTime()
			h0 := e.scrapeLatencyOrLog()
			var ost loadStats
			busy := machineBusy(func() {
				ost = openLoop(ctx, lc, o.BrowseConns, rate, o.Duration, func(i int64) loadRequest {
					return e.browseRequest(d.Parents[int(i)%len(d.Parents)])
				})
			})
			cpu1 := e.srv.cpuTime()
			h1 := e.scrapeLatencyOrLog()
			open = summarize(ost)
			if h0 != nil && h1 != nil {
				serverLatency(open, h0, h1, ost)
			}
			open.Engine, open.Name, open.Conns, open.ArrivalRate = e.name, "browse (open, 0.5× B_http)", o.BrowseConns, rate
			open.Extra["ok_per_sec"] = ost.rate(ost.count(func(s sample) bool { return s.status == 200 }))
			slow, windows := slowWindows(ost, slowWindow, slowLimit)
			open.Extra["slow_windows"], open.Extra["windows"] = float64(slow), float64(windows)
			open.Extra["cpu_per_answer_us"] = cpuPerAnswer(cpu0, cpu1, ost.count(func(s sample) bool { return s.status != 0 }))
			open.Extra["machine_busy_pct"] = busy
		}
		return r, nil
	})
	if err != nil {
		return err
	}
	rep.atLeast(e.name, "browse", "offerings list req/s", "/s", res.Extra["ok_per_sec"], httpName, 0.5)
	// In a closed loop the latency is set by the throughput (Little's law:
	// mean = connections / rate), so 256 connections cannot see a 10 ms p99
	// below 25,600 req/s — the plain hello server itself shows 20 ms and
	// more. The latency target is therefore checked where it means
	// something: parents arriving at the target rate, 0.5× B_http, in an
	// open loop on the warm server; the closed-loop p99 is reported beside
	// it, and so is the hello server's p99 under the same open loop.
	rep.informative(e.name, "browse", fmt.Sprintf("p99 closed loop (%s: %.0f ms)", httpName, rep.baselineOf(httpName).P99ms),
		"ms", res.P99ms)
	errs := res.Errors
	if open != nil {
		open.PeakRSSMB = res.PeakRSSMB
		rep.addScenario(open)
		open.describe(e.b.out)
		rep.atMost(e.name, "browse", fmt.Sprintf("p99 at 0.5× B_http (%.0f/s arriving)", rate), "ms", open.P99ms, 10)
		e.reportServerLatency("browse", "that loop", open)
		hello := rep.baselineOf(openHelloName(o.BrowseConns))
		rep.informative(e.name, "browse", "hello server p99, same open loop", "ms", hello.P99ms)
		// Where the tail comes from: the quarter-seconds whose p99 is over
		// 10 ms, beside the hello server's under the same loop.
		rep.informative(e.name, "browse", fmt.Sprintf("quarter-seconds with p99 > 10 ms, of %.0f (hello: %d of %d)",
			open.Extra["windows"], hello.SlowWindows, hello.Windows), "", open.Extra["slow_windows"])
		// And what the server spends per answer at that rate, beside the
		// hello server: the share of the two CPUs left to the load generator
		// and the kernel decides the tail.
		rep.informative(e.name, "browse", fmt.Sprintf("server CPU per answer, open loop (hello: %.1f µs)",
			hello.CPUPerAnswerUS), "µs", open.Extra["cpu_per_answer_us"])
		// How busy that leaves the machine (load generator, server and
		// kernel together): the open loop costs each side more per request
		// than the closed loop B_http is measured with, so half of B_http
		// is well over half of the machine, for the hello server too.
		rep.informative(e.name, "browse", fmt.Sprintf("machine busy during the open loop (hello: %.0f%%)",
			hello.MachineBusyPct), "%", open.Extra["machine_busy_pct"])
		errs += open.Errors
	}
	rep.exactly(e.name, "browse", "5xx and transport errors", "", float64(errs), 0)
	return nil
}

// spreadChoices picks each student's club with a Zipf skew (the first clubs
// far more popular) and the order in which parents press the button.
func spreadChoices(seed int64, parents, clubs int) (choice, order []int) {
	rng := rand.New(rand.NewPCG(uint64(seed), 6))
	z := rand.NewZipf(rng, 1.2, 2, uint64(clubs-1))
	choice = make([]int, parents)
	for i := range choice {
		choice[i] = int(z.Uint64())
	}
	return choice, rng.Perm(parents)
}

// spread: every parent enrolls its child once, into a skewed choice of
// club, with the rush's connections all at once.
func (e *engine) spread(ctx context.Context) error {
	o, d := e.b.o, e.data
	choice, order := spreadChoices(o.Seed, len(d.Parents), len(d.Clubs))
	var st loadStats
	want := func() liveCounts {
		// What the answers say: per club, the 201s; the first Seats of
		// them hold a seat, the rest wait.
		demand := map[int64]int{}
		for _, s := range st.samples {
			if s.status == 201 {
				demand[d.Clubs[choice[order[s.i]]]]++
			}
		}
		w := liveCounts{}
		for id, n := range demand {
			w.add(id, "enrolled", min(n, o.Seats))
			if n > o.Seats {
				w.add(id, "waitlisted", n-o.Seats)
			}
		}
		return w
	}
	res, err := e.phase(ctx, "spread", o.RushConns, want, func(lc *loadClient) (*scenarioResult, error) {
		// Before the window opens every parent has the offerings page open
		// (the mini-program shows the button there): one list each, not
		// measured. The rush itself starts on a server that has seen its
		// parents, as it does in a county, not on one started a second ago.
		closedLoop(ctx, lc, o.RushConns, 0, func(i int64) (loadRequest, bool) {
			if i >= int64(len(d.Parents)) {
				return loadRequest{}, false
			}
			return e.browseRequest(d.Parents[i]), true
		})
		lc.retryShed = true // parents retry a shed enrollment after Retry-After
		defer func() { lc.retryShed = false }()
		st = closedLoop(ctx, lc, o.RushConns, 0, func(i int64) (loadRequest, bool) {
			if i >= int64(len(order)) {
				return loadRequest{}, false
			}
			p := order[i]
			return e.enrollRequest(d.Parents[p], d.Clubs[choice[p]], fmt.Sprintf("spread-%s-%d-%d", e.suffix, e.starts, i), "enroll"), true
		})
		r := summarize(st)
		r.Extra["enrolled"] = float64(st.Counts["201 enrolled"])
		r.Extra["waitlisted"] = float64(st.Counts["201 waitlisted"])
		r.Extra["parent_p50_ms"], r.Extra["parent_p99_ms"] = perRequestPercentiles(st.samples)
		return r, nil
	})
	if err != nil {
		return err
	}
	rep := e.b.rep
	base := "B_sql"
	factor := 0.4
	if e.name == "postgres" {
		base, factor = "B_pg", 0.6
	}
	rep.atLeast(e.name, "spread", "accepted enrollments/s", "/s", res.AcceptedPerSec, base, factor)
	rep.atMost(e.name, "spread", fmt.Sprintf("p99 @%d", o.RushConns), "ms", res.P99ms, 250)
	rep.exactly(e.name, "spread", "invariant violations (oversell…)", "", float64(failed(res.Invariants)), 0)
	rep.exactly(e.name, "spread", "5xx and transport errors", "", float64(res.Errors), 0)
	rep.atMost(e.name, "spread", "server peak RSS", "MB", res.PeakRSSMB, 256)
	return nil
}

func failed(rs []invariantResult) int {
	n := 0
	for _, r := range rs {
		if !r.OK {
			n++
		}
	}
	return n
}

// hot: for the whole duration, parents (each at first once, in random order,
// then again) try the one hot club without a waitlist.
func (e *engine) hot(ctx context.Context) error {
	o, d := e.b.o, e.data
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 7))
	order := rng.Perm(len(d.Parents))
	var st loadStats
	want := func() liveCounts {
		w := liveCounts{}
		if n := st.count(func(s sample) bool { return s.status == 201 }); n > 0 {
			w.add(d.HotClub, "enrolled", n)
		}
		return w
	}
	res, err := e.phase(ctx, "hot", o.RushConns, want, func(lc *loadClient) (*scenarioResult, error) {
		st = closedLoop(ctx, lc, o.RushConns, o.Duration, func(i int64) (loadRequest, bool) {
			p := d.Parents[order[int(i)%len(order)]]
			return e.enrollRequest(p, d.HotClub, fmt.Sprintf("hot-%s-%d-%d", e.suffix, e.starts, i), "enroll"), true
		})
		r := summarize(st)
		// Sold out when the last seat's 201 came back; every answer after
		// that is an answer after sell-out.
		var soldAt time.Duration
		for _, s := range st.samples {
			if s.status == 201 && s.end > soldAt {
				soldAt = s.end
			}
		}
		after := st.count(func(s sample) bool { return s.end > soldAt && s.status != 0 })
		if span := st.Elapsed - soldAt; span > 0 {
			r.Extra["after_sellout_per_sec"] = float64(after) / span.Seconds()
		}
		r.Extra["sold_out_after_ms"] = float64(soldAt.Milliseconds())
		r.Extra["enrolled"] = float64(r.Accepted)
		return r, nil
	})
	if err != nil {
		return err
	}
	rep := e.b.rep
	seats := min(o.HotSeats, len(d.Parents))
	rep.exactly(e.name, "hot", "enrolled in the hot club", "", res.Extra["enrolled"], float64(seats))
	rep.exactly(e.name, "hot", "invariant violations", "", float64(failed(res.Invariants)), 0)
	if e.name == "postgres" {
		rep.atLeast(e.name, "hot", "answers/s", "/s", res.RPS, "B_pg(hot)", 0.8)
	}
	rep.atLeast(e.name, "hot", "answers/s after sell-out", "/s", res.Extra["after_sellout_per_sec"], fmt.Sprintf("B_http@%d", o.RushConns), 0.5)
	rep.exactly(e.name, "hot", "5xx and transport errors", "", float64(res.Errors), 0)
	return nil
}

// mixedRequest is request i of the mixed load: 1 in 10 an enrollment of a
// random parent into a random club, else a random parent's offerings list.
func (e *engine) mixedRequest(seed, i int64, phase string) loadRequest {
	d := e.data
	h := splitmix(uint64(seed)<<32 ^ uint64(i))
	p := d.Parents[int(h>>8)%len(d.Parents)]
	if h%10 == 0 {
		club := d.Clubs[int(h>>40)%len(d.Clubs)]
		return e.enrollRequest(p, club, fmt.Sprintf("mixed-%s-%s-%d", e.suffix, phase, i), "enroll")
	}
	return e.browseRequest(p)
}

// splitmix is a fast 64-bit mix (SplitMix64), to pick per request without
// shared state.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mixed: 90% reads, 10% enrollments. First a closed loop finds the
// saturating rate; then an open loop at 70% of it, then at twice it.
// Accepted work = answers that are neither shed (429/503) nor errors.
func (e *engine) mixed(ctx context.Context) error {
	o := e.b.o
	accepted := func(s sample) bool { return s.status != 0 && !isShed(s.status) && !isError(s.status) }
	mixedSummary := func(st loadStats) *scenarioResult {
		r := summarize(st)
		acc := st.filter(accepted)
		r.Extra["accepted_per_sec"] = st.rate(len(acc))
		r.P50ms, r.P99ms = percentiles(acc)
		enr := st.filter(func(s sample) bool { return s.tag == "enroll" && accepted(s) })
		_, r.Extra["enroll_p99_ms"] = percentiles(enr)
		return r
	}
	probe, err := e.phase(ctx, "mixed (closed, saturation)", o.RushConns, nil, func(lc *loadClient) (*scenarioResult, error) {
		st := closedLoop(ctx, lc, o.RushConns, o.Duration, func(i int64) (loadRequest, bool) {
			return e.mixedRequest(o.Seed, i, "probe"), true
		})
		return mixedSummary(st), nil
	})
	if err != nil {
		return err
	}
	sat := probe.Extra["accepted_per_sec"]
	if sat <= 0 {
		return fmt.Errorf("bench: mixed: no accepted answers while finding the saturating rate")
	}
	satName := "mixed-sat/" + e.name
	e.b.rep.addBaseline(&baselineResult{Name: satName, Conns: o.RushConns, Seconds: probe.Seconds,
		Ops: int(sat * probe.Seconds), PerSec: sat, P50ms: probe.P50ms, P99ms: probe.P99ms})
	var at2x *scenarioResult
	for _, f := range []float64{0.7, 2} {
		rate := sat * f
		name := fmt.Sprintf("mixed (open, %.1f× saturation)", f)
		tag := fmt.Sprintf("open%d", int(f*10))
		r, err := e.phase(ctx, name, o.RushConns, nil, func(lc *loadClient) (*scenarioResult, error) {
			h0 := e.scrapeLatencyOrLog()
			st := openLoop(ctx, lc, o.RushConns, rate, o.Duration, func(i int64) loadRequest {
				return e.mixedRequest(o.Seed+int64(f*10), i, tag)
			})
			h1 := e.scrapeLatencyOrLog()
			r := mixedSummary(st)
			r.ArrivalRate = rate
			if h0 != nil && h1 != nil {
				serverLatency(r, h0, h1, st)
			}
			return r, nil
		})
		if err != nil {
			return err
		}
		e.reportServerLatency("mixed", fmt.Sprintf("open loop at %.1f×", f), r)
		// At 0.7× nearly every arrival must be accepted; at 2× accepted
		// work must not collapse below 0.7× the saturating rate.
		floor := 0.7
		if f < 1 {
			floor = 0.65
		}
		e.b.rep.atLeast(e.name, "mixed", fmt.Sprintf("accepted/s at %.1f× saturation", f), "/s", r.Extra["accepted_per_sec"], satName, floor)
		at2x = r
	}
	rep := e.b.rep
	rep.exactly(e.name, "mixed", "5xx and transport errors at 2×", "", float64(at2x.Errors), 0)
	// Of those, the arrivals that never reached the server: every one of
	// the connections was busy until their timeout passed.
	rep.informative(e.name, "mixed", "of which waited past the timeout for a connection, never sent", "",
		float64(at2x.Counts[queuedTimeoutKey]))
	return nil
}
