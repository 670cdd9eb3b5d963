package main

import (
	"context"
	"fmt"
)

// mixedRequest is request i of the mixed load: every tenth (the first
// included) an enrollment of a random parent into a random club, else a
// random parent's offerings list. By index, not by the hash: a short run
// (the smoke test's second, at a loaded machine's rate) once drew no
// enrollment at all, and had no enrollment latency to report.
func (e *engine) mixedRequest(seed, i int64, phase string) loadRequest {
	d := e.data
	h := splitmix(uint64(seed)<<32 ^ uint64(i))
	p := d.Parents[int(h>>8)%len(d.Parents)]
	if i%10 == 0 {
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
