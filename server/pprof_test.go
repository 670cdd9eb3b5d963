package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// TestPprof: the profiling endpoints answer on KEHOU_PPROF_ADDR only, with
// profiles `go tool pprof` reads (gzipped protocol buffers).
func TestPprof(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("offByDefault", func(t *testing.T) {
		stop, err := startPprof(Config{}, log)
		if err != nil {
			t.Fatal(err)
		}
		stop()
	})
	addr := freeAddr(t)
	stop, err := startPprof(Config{PprofAddr: addr}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, path := range []string{"/debug/pprof/goroutine", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		t.Run(path, func(t *testing.T) {
			res, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
				t.Fatalf("%d, %d bytes", res.StatusCode, len(b))
			}
		})
	}
	t.Run("unknown404", func(t *testing.T) {
		res, err := http.Get("http://" + addr + "/debug/pprof/nope")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Fatalf("%d", res.StatusCode)
		}
	})
}
