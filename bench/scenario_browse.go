package main

import (
	"context"
	"fmt"
)

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
