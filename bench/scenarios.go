package main

import (
	"context"
	"fmt"
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
	{"paid", (*engine).paid},
	{"hot", (*engine).hot},
	{"mixed", (*engine).mixed},
	{"rollcall", (*engine).rollcall},
	{"notify", (*engine).notify},
	{"notify+spread", (*engine).notifyWithRush},
}

// rushScenarioNames lists the names of rushScenarios.
func rushScenarioNames() []string {
	names := make([]string, len(rushScenarios))
	for i, s := range rushScenarios {
		names[i] = s.name
	}
	return names
}

// warmsUp names the scenarios whose load calls warmedUp after a warm-up.
var warmsUp = map[string]bool{"spread": true, "paid": true}

// phase runs one load on a fresh server: reset the enrollments, start the
// server, renew tokens if old, run load, stop the server (reading its peak
// RSS), check the invariants.
func (e *engine) phase(ctx context.Context, name string, conns int, want func() liveCounts,
	load func(lc *loadClient) (*scenarioResult, error)) (*scenarioResult, error) {
	return e.phaseAfter(ctx, name, conns, want, nil, load)
}

// phaseAfter is phase with prep run on the started server before the
// timed load (not profiled, not measured).
func (e *engine) phaseAfter(ctx context.Context, name string, conns int, want func() liveCounts,
	prep func() error, load func(lc *loadClient) (*scenarioResult, error)) (*scenarioResult, error) {
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
	if prep != nil {
		if err := prep(); err != nil {
			e.stop()
			return nil, err
		}
	}
	lc := newLoadClient(e.srv.addr, conns, e.b.o.Timeout)
	// The profile covers the load from its start, or from the end of its
	// warm-up when the scenario has one (spread, paid: the parents' lists).
	var waitProfile func()
	startProfile := func() {
		if waitProfile == nil {
			waitProfile = e.profileDuring(name, int(e.b.o.Duration.Seconds())-1)
		}
	}
	if warmsUp[name] {
		lc.warmedUp = startProfile
	} else {
		startProfile()
	}
	res, err := load(lc)
	startProfile()
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
	inv, err := e.checkInvariants(ctx, w)
	if err != nil {
		return nil, err
	}
	res.Invariants = append(inv, res.Invariants...)
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
