package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The server's own latency: kehou's Prometheus request histogram
// (kehou_http_request_duration_seconds, by route and method, measured from
// the first middleware to the handler's answer) scraped from /metrics
// before and after an open loop. The difference of the two scrapes is the
// loop's answers as the server timed them: without the load generator's
// queueing, the kernel's socket buffers or a stalled client, which on a
// loaded 2-core machine are most of a tail the client sees.

// latencyMetric is the histogram's name in the exposition format.
const latencyMetric = "kehou_http_request_duration_seconds"

// The routes whose server-side latency the report shows, as the histogram
// labels them (the route's pattern, not the path).
var (
	browseRoute = routeKey{"GET", "/api/v1/schools/:id/offerings"}
	enrollRoute = routeKey{"POST", "/api/v1/enrollments"}
)

// routeKey names one route's series.
type routeKey struct{ method, route string }

// histogram is one series' cumulative bucket counts, by upper bound (the
// last bound is +Inf).
type histogram struct {
	bounds []float64
	counts []float64
}

// histograms is one scrape: every route's histogram.
type histograms map[routeKey]*histogram

// scrapeLatency reads the request histograms from the server's /metrics.
func (e *engine) scrapeLatency() (histograms, error) {
	st, body, err := e.api.lc.do(loadRequest{Method: "GET", Path: "/metrics"})
	if err != nil {
		return nil, err
	}
	if st != 200 {
		return nil, fmt.Errorf("bench: GET /metrics answered %d", st)
	}
	return parseLatency(body)
}

// parseLatency reads the bucket lines of latencyMetric from a Prometheus
// text exposition.
func parseLatency(text []byte) (histograms, error) {
	out := histograms{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := latencyMetric + "_bucket{"
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, fmt.Errorf("bench: metrics line %q", line)
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bench: metrics line %q: %w", line, err)
		}
		lv := parseLabels(labels)
		le, err := strconv.ParseFloat(lv["le"], 64) // "+Inf" parses as +Inf
		if err != nil {
			return nil, fmt.Errorf("bench: metrics line %q: le: %w", line, err)
		}
		k := routeKey{lv["method"], lv["route"]}
		h := out[k]
		if h == nil {
			h = &histogram{}
			out[k] = h
		}
		h.bounds = append(h.bounds, le)
		h.counts = append(h.counts, v)
	}
	for _, h := range out {
		sort.Sort(byBound{h})
	}
	return out, sc.Err()
}

// parseLabels reads name="value" pairs (kehou's label values hold no
// quotes or commas).
func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[strings.TrimSpace(k)] = strings.Trim(v, `"`)
		}
	}
	return m
}

type byBound struct{ h *histogram }

func (b byBound) Len() int           { return len(b.h.bounds) }
func (b byBound) Less(i, j int) bool { return b.h.bounds[i] < b.h.bounds[j] }
func (b byBound) Swap(i, j int) {
	b.h.bounds[i], b.h.bounds[j] = b.h.bounds[j], b.h.bounds[i]
	b.h.counts[i], b.h.counts[j] = b.h.counts[j], b.h.counts[i]
}

// since is the histogram of what k's series counted between before and
// after (nil when after has no such series).
func (after histograms) since(before histograms, k routeKey) *histogram {
	a := after[k]
	if a == nil {
		return nil
	}
	d := &histogram{bounds: a.bounds, counts: make([]float64, len(a.counts))}
	b := before[k]
	for i := range a.counts {
		d.counts[i] = a.counts[i]
		if b != nil && i < len(b.counts) && b.bounds[i] == a.bounds[i] {
			d.counts[i] -= b.counts[i]
		}
	}
	return d
}

// total is the number of observations.
func (h *histogram) total() float64 {
	if h == nil || len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile estimates the q-quantile in milliseconds as Prometheus's
// histogram_quantile does: linear within the bucket that holds it, the
// first bucket from 0; one that falls in +Inf is the largest finite bound.
// NaN when there were no observations.
func (h *histogram) quantile(q float64) float64 {
	n := h.total()
	if n <= 0 {
		return math.NaN()
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for i, ub := range h.bounds {
		c := h.counts[i]
		if c >= rank {
			if math.IsInf(ub, 1) {
				return lower * 1000
			}
			if c == below {
				return ub * 1000
			}
			return (lower + (ub-lower)*(rank-below)/(c-below)) * 1000
		}
		lower, below = ub, c
	}
	return lower * 1000
}

// serverLatency puts the server's p50/p99 of the browse and enroll routes
// between two scrapes into r.Extra (server_browse_p50_ms, …,
// server_enroll_answers), beside the client's own percentiles of the same
// loop (client_browse_p99_ms, …) by request tag.
func serverLatency(r *scenarioResult, before, after histograms, st loadStats) {
	for _, x := range []struct {
		name, tag string
		k         routeKey
	}{{"browse", "read", browseRoute}, {"enroll", "enroll", enrollRoute}, {"notify", "notify", notifyRoute}} {
		h := after.since(before, x.k)
		if h.total() == 0 {
			continue
		}
		r.Extra["server_"+x.name+"_answers"] = h.total()
		r.Extra["server_"+x.name+"_p50_ms"] = h.quantile(0.5)
		r.Extra["server_"+x.name+"_p99_ms"] = h.quantile(0.99)
		p50, p99 := percentiles(st.filter(func(s sample) bool { return s.tag == x.tag && s.status != 0 }))
		r.Extra["client_"+x.name+"_p50_ms"], r.Extra["client_"+x.name+"_p99_ms"] = p50, p99
	}
}

// scrapeLatencyOrLog is scrapeLatency for a report line: a failed scrape
// is logged and leaves the server's figures out (nil).
func (e *engine) scrapeLatencyOrLog() histograms {
	h, err := e.scrapeLatency()
	if err != nil {
		e.b.logf("[%s] server latency not read: %v", e.name, err)
		return nil
	}
	return h
}

// reportServerLatency adds the server's own p50/p99 of the list and of the
// enrollments in a loop to the table, each beside the client's.
func (e *engine) reportServerLatency(scenario, loop string, r *scenarioResult) {
	for _, x := range []struct{ name, what string }{{"browse", "offerings list"}, {"enroll", "enrollments"}, {"notify", "notifications"}} {
		if r.Extra["server_"+x.name+"_answers"] == 0 {
			continue
		}
		for _, q := range []string{"p50", "p99"} {
			e.b.rep.informative(e.name, scenario, fmt.Sprintf("server's own %s of the %s, %s (client saw %.2f ms)",
				q, x.what, loop, r.Extra["client_"+x.name+"_"+q+"_ms"]), "ms", r.Extra["server_"+x.name+"_"+q+"_ms"])
		}
	}
}
