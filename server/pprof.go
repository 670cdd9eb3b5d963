package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// startPprof serves Go's profiles on cfg.PprofAddr (KEHOU_PPROF_ADDR, dev
// only, loopback only; see LoadConfig) on a mux of its own, apart from the
// API: /debug/pprof/profile?seconds=N (CPU) and /debug/pprof/NAME for the
// runtime's named profiles (heap, allocs, goroutine, mutex, block…), in
// the format `go tool pprof` reads. The returned func stops it.
func startPprof(cfg Config, log *slog.Logger) (func(), error) {
	if cfg.PprofAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", cpuProfile)
	mux.HandleFunc("/debug/pprof/{name}", namedProfile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("KEHOU_PPROF_ADDR: serving profiling endpoints (dev only)", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// cpuProfile records a CPU profile for ?seconds (default 30, at most 300).
func cpuProfile(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
	if err != nil || secs <= 0 {
		secs = 30
	}
	secs = min(secs, 300)
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := pprof.StartCPUProfile(w); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	select {
	case <-time.After(time.Duration(secs) * time.Second):
	case <-r.Context().Done():
	}
	pprof.StopCPUProfile()
}

// namedProfile writes one of the runtime's named profiles.
func namedProfile(w http.ResponseWriter, r *http.Request) {
	p := pprof.Lookup(strings.TrimSpace(r.PathValue("name")))
	if p == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_ = p.WriteTo(w, 0)
}

// startCPUProfile writes a CPU profile of this process to path until the
// returned func is called (`seed demo --cpuprofile FILE`).
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
