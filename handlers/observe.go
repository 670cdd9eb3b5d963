package handlers

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"kehou/models"
)

// Metrics are the HTTP Prometheus collectors.
type Metrics struct {
	Requests *prometheus.CounterVec
	Latency  *prometheus.HistogramVec

	// children caches each label set's counter and histogram: resolving
	// them (hashing and validating the labels, a locked map) was a few
	// percent of a cached read's CPU.
	children sync.Map // metricKey → metricChildren
}

type metricKey struct {
	route, method string
	status        int
}

type metricChildren struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// observe counts one request and its latency. route and method must be
// strings the process owns (routePath, methodLabel), never request bytes:
// they become label values kept for the process's life.
func (m *Metrics) observe(route, method string, status int, d time.Duration) {
	k := metricKey{route, method, status}
	ch, ok := m.children.Load(k)
	if !ok {
		ch, _ = m.children.LoadOrStore(k, metricChildren{
			requests: m.Requests.WithLabelValues(route, method, strconv.Itoa(status)),
			latency:  m.Latency.WithLabelValues(route, method),
		})
	}
	c := ch.(metricChildren)
	c.requests.Inc()
	c.latency.Observe(d.Seconds())
}

// methodLabel is the request's method as a constant string. Fiber's
// c.Method() points into the connection's request buffer, which the next
// request on that connection overwrites: kept as a label value, "GET" could
// later read "PUT".
func methodLabel(c *fiber.Ctx) string {
	m := c.Method()
	for _, k := range labelledMethods {
		if m == k {
			return k
		}
	}
	return "OTHER"
}

var labelledMethods = []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodOptions}

// LatencyBuckets are the upper bounds, in seconds, of the request latency
// histogram. They are dense from 0.5 to 15 ms (no more than 2.5 ms apart),
// where the browse target (p99 ≤ 10 ms) and the answers from memory lie,
// so a p99 read from them near 10 ms is good to about a millisecond; then
// coarser up to the 10 s a client waits. Labels stay route pattern ×
// method, so the series are bounded by the routes, not the requests.
var LatencyBuckets = []float64{.0005, .001, .002, .003, .004, .005, .006, .008, .01, .0125, .015, .02, .025,
	.05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics registers the HTTP collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kehou_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kehou_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: LatencyBuckets,
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.Requests, m.Latency,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "kehou_staff_access_log_failures_total",
			Help: "Staff reads of children's data whose access-log write failed.",
		}, func() float64 { return float64(models.StaffAccessLogFailures()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "kehou_password_checks_total",
			Help: "bcrypt password comparisons (login work; none for a locked username).",
		}, func() float64 { return float64(models.PasswordChecks()) }))
	return m
}

// Observe logs each request (no query strings, tokens or bodies) and records
// its metrics. It runs outside the error handler's answer, so it sees the
// final status. clientIP names the client in the log line (nil: c.IP(),
// which trusts the leftmost X-Forwarded-For entry).
func Observe(log *slog.Logger, m *Metrics, clientIP func(*fiber.Ctx) string) fiber.Handler {
	if clientIP == nil {
		clientIP = func(c *fiber.Ctx) string { return c.IP() }
	}
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the app's error handler write the answer now, so the
			// status below is the one the client gets.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		route := routePath(c)
		d := time.Since(start)
		if m != nil {
			m.observe(route, methodLabel(c), status, d)
		}
		// A 503 is a refusal the server chose (busy, a full disk, a
		// deadline), said once at its cause: each request of a rush
		// answered 503 is a warning, not one more error line.
		lvl := slog.LevelInfo
		switch {
		case status == fiber.StatusServiceUnavailable:
			lvl = slog.LevelWarn
		case status >= 500:
			lvl = slog.LevelError
		}
		if log.Enabled(c.UserContext(), lvl) {
			log.LogAttrs(c.UserContext(), lvl, "http",
				slog.String("request_id", RequestID(c)), slog.String("method", c.Method()),
				slog.String("route", route), slog.Int("status", status),
				slog.Float64("ms", float64(d.Microseconds())/1000), slog.String("ip", observedAddr(c, clientIP)))
		}
		return nil
	}
}

// observedAddr is the client address RequestContext found, or clientIP's.
func observedAddr(c *fiber.Ctx, clientIP func(*fiber.Ctx) string) string {
	if a := ClientAddr(c); a != "" {
		return a
	}
	return clientIP(c)
}
