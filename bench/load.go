package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The load generator of kehou-bench: keep-alive HTTP/1.1 connections from
// the bench process to a server in another process, driven either in a
// closed loop (C workers, each sends its next request when the previous one
// is answered) or in an open loop (requests start at a fixed arrival rate
// whether or not earlier ones were answered, so an overloaded server shows
// up as latency, shedding or errors instead of a politely slower client).

// loadRequest is one HTTP request of a scenario.
type loadRequest struct {
	Method string
	Path   string
	Token  string // bearer token, "" for none
	IP     string // X-Forwarded-For: the client address the server sees
	Body   []byte // JSON body, nil for none
	// IdemKey is sent as Idempotency-Key when not empty.
	IdemKey string
	// ContentType of Body; "" = application/json.
	ContentType string
	// Tag splits the statistics of a mixed load (e.g. "read", "enroll").
	Tag string
	// Gzip sends Accept-Encoding: gzip, as the phones' HTTP stacks do (the
	// body is not read, so it is not unpacked either).
	Gzip bool
	// Header holds more headers, name and value (WeChat Pay's signature
	// headers on a notification).
	Header [][2]string
}

// loadClient sends loadRequests to one server over keep-alive connections.
type loadClient struct {
	hc      *fasthttp.HostClient
	addr    string
	timeout time.Duration
	// retryShed makes a closed-loop worker do what the mini-program does
	// with a shed answer (429/503): wait the server's Retry-After (1 s,
	// plus up to 250 ms of jitter) and send the same request again.
	retryShed bool
	// warmedUp, when a scenario calls it, says its unmeasured warm-up is
	// over: the server's CPU profile starts there (phase).
	warmedUp func()
}

// newLoadClient opens at most conns keep-alive connections to addr.
func newLoadClient(addr string, conns int, timeout time.Duration) *loadClient {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &loadClient{addr: addr, timeout: timeout, hc: &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      conns,
		MaxConnWaitTimeout:            timeout,
		MaxIdleConnDuration:           time.Minute,
		ReadTimeout:                   timeout,
		WriteTimeout:                  timeout,
		ReadBufferSize:                16 << 10,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}}
}

// close drops the idle connections.
func (lc *loadClient) close() { lc.hc.CloseIdleConnections() }

// do sends r and returns the status and a copy of the body; status 0 means
// the request failed in transport (err says how).
func (lc *loadClient) do(r loadRequest) (int, []byte, error) {
	return lc.doDeadline(r, time.Now().Add(lc.timeout), true)
}

func (lc *loadClient) doDeadline(r loadRequest, deadline time.Time, keepBody bool) (int, []byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + lc.addr + r.Path)
	req.Header.SetMethod(r.Method)
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.IP != "" {
		req.Header.Set("X-Forwarded-For", r.IP)
	}
	if r.IdemKey != "" {
		req.Header.Set("Idempotency-Key", r.IdemKey)
	}
	if r.Gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	for _, h := range r.Header {
		req.Header.Set(h[0], h[1])
	}
	if r.Body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.SetContentType(ct)
		req.SetBodyRaw(r.Body)
	}
	if err := lc.hc.DoDeadline(req, resp, deadline); err != nil {
		return 0, nil, err
	}
	body := resp.Body()
	if keepBody {
		body = append([]byte(nil), body...)
	} else {
		body = answerKeyBytes(resp.StatusCode(), body)
	}
	return resp.StatusCode(), body, nil
}

// answerKeyBytes keeps only what answerKey needs of a body, so the load
// loops do not copy whole offering lists.
func answerKeyBytes(status int, body []byte) []byte {
	if status >= 200 && status < 300 {
		if bytes.Contains(body, []byte(`"status":"waitlisted"`)) {
			return []byte("waitlisted")
		}
		if bytes.Contains(body, []byte(`"status":"enrolled"`)) {
			return []byte("enrolled")
		}
		if bytes.Contains(body, []byte(`"status":"pending_payment"`)) {
			return []byte("pending_payment")
		}
		return nil
	}
	return []byte(errorCode(body))
}

// errorCode extracts "code" from an error body without a full decode.
func errorCode(body []byte) string {
	const k = `"code":"`
	i := bytes.Index(body, []byte(k))
	if i < 0 {
		return ""
	}
	rest := body[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || j > 64 {
		return ""
	}
	return string(rest[:j])
}

// sample is one answered (or failed) request.
type sample struct {
	lat    time.Duration // from the request's start (open loop: its scheduled start)
	end    time.Duration // since the load began
	status int           // 0 = transport error
	key    string        // "201 waitlisted", "409 full", "error timeout"…
	tag    string
	i      int64 // the request's sequence number
}

// answerKey names an answer for the counts by status.
func answerKey(status int, detail []byte, err error) string {
	if status == 0 {
		if errors.Is(err, errQueuedPastTimeout) {
			return queuedTimeoutKey
		}
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return "error timeout"
		}
		if errors.Is(err, errClientQueueFull) {
			return "error client_queue_full"
		}
		return "error transport: " + shortErr(err)
	}
	if len(detail) == 0 {
		return strconv.Itoa(status)
	}
	return strconv.Itoa(status) + " " + string(detail)
}

// errClientQueueFull marks an open-loop arrival dropped because the bench
// itself had more than its queue bound waiting (reported, never hidden).
var errClientQueueFull = errors.New("client queue full")

// errQueuedPastTimeout marks an open-loop arrival that waited in the bench's
// queue, every connection busy, until its timeout had passed: a timeout the
// server never saw (counted as an error all the same).
var errQueuedPastTimeout = errors.New("waited past the timeout for a connection")

const queuedTimeoutKey = "error timeout (queued, never sent)"

// closedLoop runs conns workers; each asks next for its request (false: no
// more work) and sends it when its previous one was answered. It stops when
// dur has passed (dur 0: only when next runs out) or ctx ends.
func closedLoop(ctx context.Context, lc *loadClient, conns int, dur time.Duration, next func(i int64) (loadRequest, bool)) loadStats {
	var seq atomic.Int64
	parts := make([][]sample, conns)
	start := time.Now()
	var deadline time.Time
	if dur > 0 {
		deadline = start.Add(dur)
	}
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]sample, 0, 1024)
			for ctx.Err() == nil {
				now := time.Now()
				if !deadline.IsZero() && now.After(deadline) {
					break
				}
				i := seq.Add(1) - 1
				r, ok := next(i)
				if !ok {
					break
				}
				for {
					t0 := time.Now()
					status, detail, err := lc.doDeadline(r, t0.Add(lc.timeout), false)
					t1 := time.Now()
					local = append(local, sample{lat: t1.Sub(t0), end: t1.Sub(start), status: status,
						key: answerKey(status, detail, err), tag: r.Tag, i: i})
					if !lc.retryShed || !isShed(status) || ctx.Err() != nil {
						break
					}
					time.Sleep(time.Second + time.Duration(splitmix(uint64(i)+uint64(t1.UnixNano()))%250)*time.Millisecond)
				}
			}
			parts[w] = local
		}(w)
	}
	wg.Wait()
	return mergeSamples(parts, time.Since(start))
}

// openLoop starts requests at a fixed rate for dur, on at most conns
// connections. An arrival waits in a bounded queue when every connection is
// busy; its latency counts from its scheduled start (no coordinated
// omission), and one not answered within the request timeout of its
// scheduled start (still queued, or answered later) is a timeout.
func openLoop(ctx context.Context, lc *loadClient, conns int, rate float64, dur time.Duration, next func(i int64) loadRequest) loadStats {
	type arrival struct {
		at time.Time
		r  loadRequest
		i  int64
	}
	queueCap := int(rate*lc.timeout.Seconds()) + conns
	if queueCap > 1_000_000 {
		queueCap = 1_000_000
	}
	queue := make(chan arrival, queueCap)
	parts := make([][]sample, conns+1)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]sample, 0, 1024)
			for a := range queue {
				deadline := a.at.Add(lc.timeout)
				var status int
				var detail []byte
				var err error
				if time.Now().After(deadline) {
					err = errQueuedPastTimeout
				} else {
					// The exchange gets a whole timeout of its own. Cut at
					// the arrival's deadline, an arrival that waited long in
					// the queue would time out in flight, and the client
					// would close a keep-alive connection that the arrivals
					// behind it need (a phone's connection is its own):
					// under overload the load would turn into reconnects.
					status, detail, err = lc.doDeadline(a.r, time.Now().Add(lc.timeout), false)
				}
				t1 := time.Now()
				if err == nil && t1.After(deadline) {
					// Answered after the parent gave up: a timeout all the
					// same.
					status, detail, err = 0, nil, fasthttp.ErrTimeout
				}
				local = append(local, sample{lat: t1.Sub(a.at), end: t1.Sub(start), status: status,
					key: answerKey(status, detail, err), tag: a.r.Tag, i: a.i})
			}
			parts[w] = local
		}(w)
	}
	var dropped []sample
	interval := time.Duration(float64(time.Second) / rate)
	total := int64(dur.Seconds() * rate)
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 200*time.Microsecond {
			time.Sleep(d)
		}
		r := next(i)
		select {
		case queue <- arrival{at: at, r: r, i: i}:
		default:
			dropped = append(dropped, sample{end: time.Since(start), key: answerKey(0, nil, errClientQueueFull), tag: r.Tag, i: i})
		}
	}
	close(queue)
	wg.Wait()
	parts[conns] = dropped
	return mergeSamples(parts, time.Since(start))
}
