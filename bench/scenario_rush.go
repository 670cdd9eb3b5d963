package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// The rush itself: spread (every parent once, a skewed choice of club) and
// hot (everyone at the one small club).

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
	res, err := e.spreadRush(ctx, "spread", e.data.Clubs, e.offeringsPath(e.data), "enrolled")
	if err != nil {
		return err
	}
	rep := e.b.rep
	base := "B_sql"
	factor := 0.4
	if e.name == "postgres" {
		base, factor = "B_pg", 0.6
	}
	// The free rush is the paid rush's baseline, in the same run.
	rep.addBaseline(&baselineResult{Name: spreadBaseline(e.name), Conns: res.Conns, Seconds: res.Seconds,
		Ops: res.Accepted, PerSec: res.AcceptedPerSec, P50ms: res.P50ms, P99ms: res.P99ms})
	rep.atLeast(e.name, "spread", "accepted enrollments/s", "/s", res.AcceptedPerSec, base, factor)
	e.spreadRows("spread", res)
	return nil
}

// spreadBaseline names the free spread rush of engine as a baseline.
func spreadBaseline(engine string) string { return "spread/" + engine }

// paid: the spread rush again, on the same clubs in a term of their own
// where every club has a fee (per session), so each seat taken is a
// pending_payment hold with its order and its charge in the ledger
// (docs/fees.md). Target (issue 24): accepted holds/s within 10% of the
// free spread rush of the same run.
func (e *engine) paid(ctx context.Context) error {
	d := e.data
	if len(d.PaidClubs) == 0 {
		return fmt.Errorf("bench: paid: no priced clubs prepared")
	}
	path := fmt.Sprintf("/api/v1/schools/%d/offerings?term_id=%d", d.SchoolID, d.PaidTermID)
	res, err := e.spreadRush(ctx, "paid", d.PaidClubs, path, "pending_payment")
	if err != nil {
		return err
	}
	rep := e.b.rep
	if rep.baseline(spreadBaseline(e.name)) > 0 {
		rep.atLeast(e.name, "paid", "accepted holds/s", "/s", res.AcceptedPerSec, spreadBaseline(e.name), 0.9)
	} else {
		rep.informative(e.name, "paid", "accepted holds/s (run spread beside it for the target)", "/s", res.AcceptedPerSec)
	}
	e.spreadRows("paid", res)
	return nil
}

// spreadRows adds the rows every spread rush must meet.
func (e *engine) spreadRows(name string, res *scenarioResult) {
	rep := e.b.rep
	rep.atMost(e.name, name, fmt.Sprintf("p99 @%d", e.b.o.RushConns), "ms", res.P99ms, 250)
	rep.exactly(e.name, name, "invariant violations (oversell…)", "", float64(failed(res.Invariants)), 0)
	rep.exactly(e.name, name, "5xx and transport errors", "", float64(res.Errors), 0)
	rep.atMost(e.name, name, "server peak RSS", "MB", res.PeakRSSMB, 256)
}

// spreadRush runs the spread rush over clubs (listed at listPath): every
// parent once, a Zipf-skewed club; a seat is seated (enrolled, or
// pending_payment in priced clubs), the rest wait.
func (e *engine) spreadRush(ctx context.Context, name string, clubs []int64, listPath, seated string) (*scenarioResult, error) {
	o, d := e.b.o, e.data
	choice, order := spreadChoices(o.Seed, len(d.Parents), len(clubs))
	var st loadStats
	want := func() liveCounts {
		// What the answers say: per club, the 201s; the first Seats of
		// them hold a seat, the rest wait.
		demand := map[int64]int{}
		for _, s := range st.samples {
			if s.status == 201 {
				demand[clubs[choice[order[s.i]]]]++
			}
		}
		w := liveCounts{}
		for id, n := range demand {
			w.add(id, seated, min(n, o.Seats))
			if n > o.Seats {
				w.add(id, "waitlisted", n-o.Seats)
			}
		}
		return w
	}
	return e.phase(ctx, name, o.RushConns, want, func(lc *loadClient) (*scenarioResult, error) {
		// Before the window opens every parent has the offerings page open
		// (the mini-program shows the button there): one list each, not
		// measured. The rush itself starts on a server that has seen its
		// parents, as it does in a county, not on one started a second ago.
		closedLoop(ctx, lc, o.RushConns, 0, func(i int64) (loadRequest, bool) {
			if i >= int64(len(d.Parents)) {
				return loadRequest{}, false
			}
			p := d.Parents[i]
			return loadRequest{Method: "GET", Path: listPath, Token: p.Token, IP: p.IP, Tag: "read", Gzip: true}, true
		})
		if lc.warmedUp != nil {
			lc.warmedUp()
		}
		lc.retryShed = true // parents retry a shed enrollment after Retry-After
		defer func() { lc.retryShed = false }()
		st = closedLoop(ctx, lc, o.RushConns, 0, func(i int64) (loadRequest, bool) {
			if i >= int64(len(order)) {
				return loadRequest{}, false
			}
			p := order[i]
			return e.enrollRequest(d.Parents[p], clubs[choice[p]], fmt.Sprintf("%s-%s-%d-%d", name, e.suffix, e.starts, i), "enroll"), true
		})
		r := summarize(st)
		r.Extra["seated"] = float64(st.Counts["201 "+seated])
		r.Extra["waitlisted"] = float64(st.Counts["201 waitlisted"])
		r.Extra["parent_p50_ms"], r.Extra["parent_p99_ms"] = perRequestPercentiles(st.samples)
		return r, nil
	})
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
