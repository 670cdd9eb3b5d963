package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"kehou/bench/hello"
	"kehou/models/modelstest"
)

// The CPU a request costs in the app itself (routing, middleware, handler,
// encoding the answer), without the network: what the bench's "server CPU
// per answer" row measures, less the kernel and the scheduler, and without
// their run-to-run noise. Compare the parents' offerings list with the
// hello server of B_http:
//
//	go test -run '^$' -bench 'Handler' -benchmem ./server

// BenchmarkHelloHandler is the B_http hello app.
func BenchmarkHelloHandler(b *testing.B) {
	benchHandler(b, hello.App(), "/hello")
}

// BenchmarkParentOfferingListHandler is parents' GETs of the offerings
// list (20 clubs), as the bench's browse scenario sends them: 1,000
// parents in turn, each with its token and client address, gzip.
func BenchmarkParentOfferingListHandler(b *testing.B) {
	w := newEnrollWorld(b)
	for i := 0; i < 20; i++ {
		w.publishedOffering(b, func(m map[string]any) { m["name"] = fmt.Sprintf("社团%d", i) })
	}
	var tokens []string
	for i := 0; i < 1000; i++ {
		kid := modelstest.Student(b, w.db, w.schoolID, 3, fmt.Sprintf("137%08d", i))
		tokens = append(tokens, w.token(modelstest.Parent(b, w.db, kid.ID)))
	}
	path := fmt.Sprintf("/api/v1/schools/%d/offerings?term_id=%d", w.schoolID, w.termID)
	// The bench's server logs at warn (no access log), behind a proxy it
	// trusts.
	cfg := w.cfg
	cfg.TrustedProxies = []string{"127.0.0.1"}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	benchHandler(b, newApp(cfg, log, w.api, prometheus.NewRegistry()), path, tokens...)
}

// benchHandler sends GET path through app's handler, each time parsed
// from the wire bytes as the server reads them, with the tokens in turn.
func benchHandler(b *testing.B, app *fiber.App, path string, tokens ...string) {
	if len(tokens) == 0 {
		tokens = []string{""}
	}
	wire := make([][]byte, len(tokens))
	for i, tok := range tokens {
		s := "GET " + path + " HTTP/1.1\r\nHost: kehou.test\r\n"
		if tok != "" {
			s += "Authorization: Bearer " + tok + "\r\n"
		}
		s += fmt.Sprintf("X-Forwarded-For: 10.1.%d.%d\r\nAccept-Encoding: gzip\r\n\r\n", i>>8&255, i&255)
		wire[i] = []byte(s)
	}
	h := app.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	var r bytes.Reader
	br := bufio.NewReader(&r)
	serve := func(i int) {
		ctx.Request.Reset()
		ctx.Response.Reset()
		r.Reset(wire[i%len(wire)])
		br.Reset(&r)
		if err := ctx.Request.Read(br); err != nil {
			b.Fatal(err)
		}
		h(&ctx)
		if ctx.Response.StatusCode() != fiber.StatusOK {
			b.Fatalf("GET %s: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	for i := range wire {
		serve(i) // warm each parent's cached token and children
	}
	b.ReportAllocs()
	i := 0 // b.Loop starts the timer on its first call
	for b.Loop() {
		serve(i)
		i++
	}
}
