package main

import (
	"math"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kehou/handlers"
)

// TestServerLatency reads kehou's request histogram as /metrics exposes
// it, differences two scrapes and estimates the quantiles of what the
// loop between them observed.
func TestServerLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := handlers.NewMetrics(reg)
	scrape := func() histograms {
		t.Helper()
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		h, err := parseLatency(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	browse := m.Latency.WithLabelValues(browseRoute.route, browseRoute.method)
	enroll := m.Latency.WithLabelValues(enrollRoute.route, enrollRoute.method)
	// Before the loop: slow answers that must not count.
	for range 50 {
		browse.Observe(2)
	}
	before := scrape()
	// The loop: 99 browse answers of 0.7 ms and one of 9 ms; 10 enrollments
	// of 30 ms.
	for range 99 {
		browse.Observe(.0007)
	}
	browse.Observe(.009)
	for range 10 {
		enroll.Observe(.03)
	}
	after := scrape()

	h := after.since(before, browseRoute)
	if h.total() != 100 {
		t.Fatalf("browse: %v answers in the loop, want 100", h.total())
	}
	// p50: rank 50 of 99 in the bucket 0.5–1 ms → 0.5 + 0.5×50/99 ms.
	if p50, want := h.quantile(.5), 0.5+0.5*50/99.0; math.Abs(p50-want) > 1e-9 {
		t.Errorf("browse p50 = %v ms, want %v", p50, want)
	}
	// p99: rank 99 is the last 0.7 ms answer → the bucket's upper bound.
	if p99 := h.quantile(.99); p99 != 1 {
		t.Errorf("browse p99 = %v ms, want 1", p99)
	}
	if p100 := h.quantile(1); p100 <= 8 || p100 > 10 {
		t.Errorf("browse max = %v ms, want in the 8–10 ms bucket", p100)
	}
	e := after.since(before, enrollRoute)
	if e.total() != 10 || e.quantile(.99) <= 25 || e.quantile(.99) > 50 {
		t.Errorf("enroll: %v answers, p99 %v ms", e.total(), e.quantile(.99))
	}
	if n := after.since(before, routeKey{"GET", "/nowhere"}).total(); n != 0 {
		t.Errorf("a route never seen counted %v", n)
	}

	r := &scenarioResult{Extra: map[string]float64{}}
	serverLatency(r, before, after, loadStats{samples: []sample{{tag: "read", status: 200, lat: 3e6}}})
	if r.Extra["server_browse_answers"] != 100 || r.Extra["server_enroll_answers"] != 10 || r.Extra["client_browse_p99_ms"] != 3 {
		t.Errorf("extra = %v", r.Extra)
	}
}
