package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kehou/bench/hello"
)

// childProc is a process the bench started: the kehou API server or the
// hello baseline. The bench drives it over HTTP and watches its memory.
type childProc struct {
	name string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu      sync.Mutex
	maxRSS  int64 // largest VmRSS sampled, bytes
	peakHWM int64 // VmHWM read at stop, bytes
	stopRSS chan struct{}
}

// childSpec says how to start a child process.
type childSpec struct {
	exe     string   // the kehou binary, or this program for the hello server
	args    []string // nil = serve
	env     []string // extra KEY=VALUE
	logFile string   // where its stderr/stdout go
}

// benchFreeAddr returns 127.0.0.1:<a free port>.
func benchFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startChild starts spec listening on a free port and waits until path
// answers 200.
func startChild(ctx context.Context, name string, spec childSpec, readyPath string) (*childProc, error) {
	addr, err := benchFreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.exe, spec.args...)
	cmd.Env = append(os.Environ(), spec.env...)
	cmd.Env = append(cmd.Env, "LISTEN_ADDR="+addr)
	if spec.logFile != "" {
		f, err := os.OpenFile(spec.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close() // the child holds its own descriptor
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	p := &childProc{name: name, addr: addr, cmd: cmd, done: make(chan struct{}), stopRSS: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	go p.sampleRSS()
	if err := p.waitReady(ctx, readyPath, 60*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("bench: %s not ready (log: %s): %w", name, spec.logFile, err)
	}
	return p, nil
}

func (p *childProc) waitReady(ctx context.Context, path string, limit time.Duration) error {
	lc := newLoadClient(p.addr, 1, 2*time.Second)
	defer lc.close()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if st, _, err := lc.do(loadRequest{Method: "GET", Path: path}); err == nil && st == 200 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out")
}

// sampleRSS records the largest VmRSS every 100 ms until stop.
func (p *childProc) sampleRSS() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stopRSS:
			return
		case <-p.done:
			return
		case <-t.C:
			if rss, _ := procStatus(p.cmd.Process.Pid, "VmRSS"); rss > 0 {
				p.mu.Lock()
				if rss > p.maxRSS {
					p.maxRSS = rss
				}
				p.mu.Unlock()
			}
		}
	}
}

// peakRSS is the process's peak resident memory in bytes: VmHWM, or the
// largest sample when /proc could not be read.
func (p *childProc) peakRSS() int64 {
	if hwm, err := procStatus(p.cmd.Process.Pid, "VmHWM"); err == nil && hwm > 0 {
		p.mu.Lock()
		p.peakHWM = hwm
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peakHWM > 0 {
		return p.peakHWM
	}
	return p.maxRSS
}

// procStatus reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return n << 10, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux the bench runs on).
const userHZ = 100

// cpuTime is the CPU time the process has used so far, user and system,
// all threads (0 when /proc cannot be read).
func (p *childProc) cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / userHZ
}

// machineTicks reads the first line of /proc/stat: the ticks all CPUs
// spent busy (anything but idle and iowait) and in all, since boot (0, 0
// when it cannot be read).
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal; guest and guest_nice,
	// when present, are already in user and nice.
	for i, s := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// machineBusy measures how busy the whole machine (every process: load
// generator, server, kernel, database) is while fn runs, in percent of all
// CPUs (0 when /proc/stat cannot be read).
func machineBusy(fn func()) float64 {
	b0, t0 := machineTicks()
	fn()
	b1, t1 := machineTicks()
	if t1 <= t0 {
		return 0
	}
	return 100 * float64(b1-b0) / float64(t1-t0)
}

// cpuPerAnswer is the CPU time per answer between two cpuTime readings, in
// microseconds.
func cpuPerAnswer(before, after time.Duration, answers int) float64 {
	if answers <= 0 || after <= before {
		return 0
	}
	return float64((after - before).Microseconds()) / float64(answers)
}

// stop reads the peak memory, then asks the process to finish (SIGTERM) and
// kills it if it has not after 20 s. It returns the peak RSS in bytes.
func (p *childProc) stop() int64 {
	peak := p.peakRSS()
	close(p.stopRSS)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return peak
}

// runChildCommand runs the kehou binary with args to completion (e.g.
// `user add`), returning its combined output on failure.
func runChildCommand(ctx context.Context, spec childSpec, args ...string) error {
	cmd := exec.CommandContext(ctx, spec.exe, args...)
	cmd.Env = append(os.Environ(), spec.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("bench: kehou %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// serveHello is `kehou-bench hello`: the B_http baseline (hello.App) on
// addr until ctx ends.
func serveHello(ctx context.Context, addr string) error {
	app := hello.App()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return app.ShutdownWithTimeout(5 * time.Second)
}
