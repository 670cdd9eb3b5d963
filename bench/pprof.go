package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Profiling the server under load: with -pprof DIR the bench starts each
// server in dev mode with KEHOU_PPROF_ADDR, a loopback address where kehou
// serves Go's profiling endpoints (server/pprof.go), and saves a CPU
// profile of every timed scenario into DIR.

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
