package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// TestBenchLoadLoops drives the hello baseline server (a child process)
// with both load loops and checks what they counted and the peak RSS read.
func TestBenchLoadLoops(t *testing.T) {
	ctx := context.Background()
	o := smokeOptions(t)
	spec := childSpec{exe: o.Self, args: []string{"hello"}, env: o.HelloEnv, logFile: o.Dir + "/hello2.log"}
	p, err := startChild(ctx, "hello", spec, "/hello")
	if err != nil {
		t.Fatal(err)
	}
	lc := newLoadClient(p.addr, 8, time.Second)
	t.Run("closedLoopStopsWhenWorkRunsOut", func(t *testing.T) {
		st := closedLoop(ctx, lc, 8, 0, func(i int64) (loadRequest, bool) {
			return loadRequest{Method: "GET", Path: "/hello"}, i < 100
		})
		if st.Requests != 100 || st.Counts["200"] != 100 {
			t.Fatalf("requests %d counts %v", st.Requests, st.Counts)
		}
	})
	t.Run("openLoopKeepsItsRate", func(t *testing.T) {
		st := openLoop(ctx, lc, 8, 200, 500*time.Millisecond, func(i int64) loadRequest {
			if i%2 == 0 {
				return loadRequest{Method: "GET", Path: "/nowhere", Tag: "miss"}
			}
			return loadRequest{Method: "GET", Path: "/hello", Tag: "hit"}
		})
		if st.Requests != 100 || st.Counts["200"] != 50 || st.Counts["404"] != 50 {
			t.Fatalf("requests %d counts %v", st.Requests, st.Counts)
		}
	})
	lc.close()
	peak := p.stop()
	if peak <= 0 {
		t.Fatalf("peak RSS of the hello server = %d", peak)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestBenchOpenLoopOverload: arrivals faster than one connection's server
// can answer them. Those answered later than the timeout after their
// scheduled start count as timeouts, whether they waited in the queue or
// were answered late, and no exchange is cut short on the wire: the one
// connection serves the whole loop (cutting an exchange at its arrival's
// deadline would close the connection and turn an overload into
// reconnects).
func TestBenchOpenLoopOverload(t *testing.T) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/slow", func(c *fiber.Ctx) error {
		time.Sleep(50 * time.Millisecond)
		return c.SendString("ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	go func() { _ = app.Listener(cl) }()
	defer func() { _ = app.Shutdown() }()

	const timeout = 300 * time.Millisecond
	lc := newLoadClient(ln.Addr().String(), 1, timeout)
	defer lc.close()
	// 20 arrivals 25 ms apart, each answer 50 ms: from the 12th on, an
	// answer comes more than 300 ms after its arrival.
	st := openLoop(context.Background(), lc, 1, 40, 500*time.Millisecond, func(int64) loadRequest {
		return loadRequest{Method: "GET", Path: "/slow"}
	})
	late, queued := st.Counts["error timeout"], st.Counts[queuedTimeoutKey]
	if st.Requests != 20 || st.Counts["200"]+late+queued != 20 {
		t.Fatalf("requests %d, counts %v", st.Requests, st.Counts)
	}
	// Answers in time, answers too late, and arrivals that waited past
	// their timeout and were never sent.
	if st.Counts["200"] == 0 || late == 0 || queued == 0 {
		t.Fatalf("counts %v: want answers, late answers and queued timeouts", st.Counts)
	}
	if n := summarize(st).Errors; n != late+queued {
		t.Fatalf("%d errors, want every timeout (%d)", n, late+queued)
	}
	for _, s := range st.samples {
		if s.status == 200 && s.lat > timeout {
			t.Fatalf("an answer %v after its arrival counted as answered", s.lat)
		}
	}
	if n := cl.n.Load(); n != 1 {
		t.Fatalf("%d connections opened, want 1", n)
	}
}

// TestBenchSlowWindows: an open loop's samples are cut into windows by
// scheduled start (end less latency), and a window is slow when its p99 is
// over the limit; samples dropped before they were sent do not count.
func TestBenchSlowWindows(t *testing.T) {
	ms := time.Millisecond
	var st loadStats
	add := func(start, lat time.Duration, status int) {
		st.samples = append(st.samples, sample{lat: lat, end: start + lat, status: status})
	}
	for i := range 100 {
		at := time.Duration(i) * 10 * ms // 0–990 ms: four windows of 250 ms
		lat := 2 * ms
		if at >= 500*ms && at < 750*ms {
			lat = 30 * ms // the third window stalls (its samples end in the fourth)
		}
		add(at, lat, 200)
	}
	add(1200*ms, 0, 0) // dropped by the generator: no window of its own
	if slow, total := slowWindows(st, 250*ms, 10*ms); slow != 1 || total != 4 {
		t.Fatalf("slow %d of %d windows, want 1 of 4", slow, total)
	}
	add(1100*ms, 10*time.Second, 0) // a timeout is slow
	if slow, total := slowWindows(st, 250*ms, 10*ms); slow != 2 || total != 5 {
		t.Fatalf("with a timeout: slow %d of %d windows, want 2 of 5", slow, total)
	}
}

// TestBenchCPUTime reads a process's CPU time from /proc (here the test's
// own, while it spins) and compares it with getrusage's.
func TestBenchCPUTime(t *testing.T) {
	self := &childProc{cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// Spin until the kernel's own account says 300 ms of CPU were used,
	// however long that takes on a busy machine.
	before, r0 := self.cpuTime(), rusage()
	x := 0
	for rusage()-r0 < 300*time.Millisecond {
		x++
	}
	after, used := self.cpuTime(), rusage()-r0
	// /proc counts in ticks of 10 ms: allow a few either side.
	if d := after - before; d < used-50*time.Millisecond || d > used+50*time.Millisecond {
		t.Fatalf("/proc CPU time moved %v while getrusage counted %v (%d turns)", d, used, x)
	}
	if us := cpuPerAnswer(time.Second, 3*time.Second, 1000); us != 2000 {
		t.Fatalf("2 s over 1,000 answers = %v µs each, want 2000", us)
	}
}

// TestBenchMachineBusy: every CPU spinning reads as a busy machine (other
// processes can only add to it), and the share stays a percentage.
func TestBenchMachineBusy(t *testing.T) {
	if _, total := machineTicks(); total == 0 {
		t.Skip("no /proc/stat")
	}
	busy := machineBusy(func() {
		var wg sync.WaitGroup
		for range runtime.NumCPU() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for spin := time.Now(); time.Since(spin) < 300*time.Millisecond; {
				}
			}()
		}
		wg.Wait()
	})
	if busy < 50 || busy > 100 {
		t.Fatalf("machine %.1f%% busy while every CPU spun for 300 ms", busy)
	}
}
