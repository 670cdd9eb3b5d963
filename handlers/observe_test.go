package handlers

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// TestMethodLabelOwnsItsString: fasthttp reuses a connection's request
// buffer, so Fiber's c.Method() read earlier changes under the next request;
// the label kept in the metrics must not.
func TestMethodLabelOwnsItsString(t *testing.T) {
	app := fiber.New()
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod(fiber.MethodGet)
	c := app.AcquireCtx(fctx)
	defer app.ReleaseCtx(c)
	label := methodLabel(c)
	fctx.Request.Header.SetMethod(fiber.MethodPut) // the next request, same buffer
	if label != fiber.MethodGet {
		t.Fatalf("label %q after the buffer was reused, want GET", label)
	}
	fctx.Request.Header.SetMethod("BREW")
	c2 := app.AcquireCtx(fctx)
	defer app.ReleaseCtx(c2)
	if l := methodLabel(c2); l != "OTHER" {
		t.Fatalf("unknown method labelled %q, want OTHER", l)
	}
}

// TestMetricsObserve: cached label children count on the right series.
func TestMetricsObserve(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	for range 3 {
		m.observe("/api/v1/x", fiber.MethodGet, 200, time.Millisecond)
	}
	m.observe("/api/v1/x", fiber.MethodGet, 404, time.Millisecond)
	m.observe("/api/v1/x", fiber.MethodPost, 200, time.Millisecond)
	for _, c := range []struct {
		method, status string
		want           float64
	}{{"GET", "200", 3}, {"GET", "404", 1}, {"POST", "200", 1}, {"POST", "404", 0}} {
		if got := testutil.ToFloat64(m.Requests.WithLabelValues("/api/v1/x", c.method, c.status)); got != c.want {
			t.Errorf("%s %s: %v requests, want %v", c.method, c.status, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.Latency); n != 2 {
		t.Errorf("%d latency series, want 2 (GET, POST)", n)
	}
}

// TestLatencyBuckets: the histogram resolves a p99 near the 10 ms browse
// target to within a few milliseconds (bounds ascending, at most 2.5 ms
// apart from 0.5 to 15 ms) and still tells slow answers apart up to 10 s.
func TestLatencyBuckets(t *testing.T) {
	b := LatencyBuckets
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("bounds not ascending at %v", b[i])
		}
		if b[i] <= .015 && b[i-1] >= .0005 && b[i]-b[i-1] > .0025+1e-12 {
			t.Errorf("gap %v–%v s is wider than 2.5 ms", b[i-1], b[i])
		}
	}
	if b[0] > .0005 || b[len(b)-1] < 10 {
		t.Errorf("bounds %v–%v s, want from 0.5 ms to 10 s", b[0], b[len(b)-1])
	}
}
