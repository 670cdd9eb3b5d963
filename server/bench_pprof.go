package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Profiling the server under load: `kehou bench -pprof DIR` starts each
// server as `kehou bench serve -pprof ADDR` — the same server plus Go's
// profiling endpoints on a second, loopback-only port — and saves a CPU
// profile of every timed scenario into DIR. A plain `kehou` never exposes
// them.

// benchServe is `kehou bench serve -pprof ADDR`: serve, with /debug/pprof on
// ADDR (which must be a loopback address).
func benchServe(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("pprof", "", "loopback address for /debug/pprof")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\nbench serve: %v", errUsage, err)
	}
	if *addr != "" {
		host, _, err := net.SplitHostPort(*addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return errors.New("bench serve: -pprof must be a loopback address such as 127.0.0.1:6060")
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.ListenAndServe() }()
		defer srv.Close()
		log.Warn("profiling endpoints on", "addr", *addr)
	}
	return serve(ctx, cfg, log)
}

// profileDuring saves a CPU profile of the server for secs seconds to
// dir/name.prof; it runs beside the load and reports failures to the log.
func (e *engine) profileDuring(name string, secs int) func() {
	if e.b.o.PprofDir == "" || e.pprofAddr == "" || secs < 1 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		file := filepath.Join(e.b.o.PprofDir, e.name+"-"+strings.NewReplacer(" ", "_", "(", "", ")", "", ",", "", "×", "x").Replace(name)+".prof")
		c := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", e.pprofAddr, secs))
		if err != nil {
			e.b.logf("pprof %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			e.b.logf("pprof %s: %v", name, err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			e.b.logf("pprof %s: %v", name, err)
			return
		}
		e.b.logf("[%s] CPU profile of %s: %s", e.name, name, file)
	}()
	return func() { <-done }
}
