package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"kehou/handlers"
	"kehou/jobs"
	"kehou/models"
	"kehou/models/modelstest"
)

// testServer is a kehou app on a fresh database, driven with app.Test.
type testServer struct {
	t   testing.TB
	db  *models.DB
	api *handlers.API
	app *fiber.App
	cfg Config
	// logs captures every log line, so tests can assert what never appears.
	logs *bytes.Buffer
	// statuses collects answers openapi.yaml does not list (reported when
	// the test ends: contract_statuses_test.go).
	statuses *statusLedger
}

var testSecret = "test-secret-test-secret-test-secret-0123"

// testConfig is a dev configuration for tests.
func testConfig(t testing.TB, dbURL string) Config {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string {
		switch k {
		case "JWT_SECRET":
			return testSecret
		case "DATABASE_URL":
			return dbURL
		case "LOG_FORMAT":
			return "json"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	return newTestServerOn(t, db, testConfig(t, url))
}

func newTestServerOn(t testing.TB, db *models.DB, cfg Config) *testServer {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&syncWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := &handlers.API{DB: db, Tokens: handlers.NewTokens(cfg.JWTSecret, cfg.JWTKeyID), Log: log}
	// A job runner with the default jobs, not started: tests run jobs on
	// demand through the API, as a platform admin would.
	runner := jobs.New(db, log, jobs.Options{Instance: "test"})
	for _, j := range jobs.Defaults(nil) {
		runner.Register(j)
	}
	api.Jobs = runner
	app := newApp(cfg, log, api, prometheus.NewRegistry())
	ledger := &statusLedger{}
	t.Cleanup(func() { ledger.report(t) })
	return &testServer{t: t, db: db, api: api, app: app, cfg: cfg, logs: logs, statuses: ledger}
}

// token signs an access token for u.
func (s *testServer) token(u models.User) string {
	s.t.Helper()
	tok, err := s.api.Tokens.Sign(u.Actor(), time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// resp is a decoded answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r resp) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Code is the error body's code.
func (r resp) Code() string {
	c, _ := r.JSON()["code"].(string)
	return c
}

// do sends a request; body may be nil, a string/[]byte (sent as is) or any
// value (sent as JSON).
func (s *testServer) do(method, path, token string, body any, hdr ...string) resp {
	s.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := s.app.Test(req, 30_000)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	answerType := res.Header.Get("Content-Type")
	if res.Header.Get("Content-Encoding") != "" {
		answerType = "" // a gzipped body: its status is checked, not its fields
	}
	s.statuses.note(method, path, res.StatusCode, resp{Body: b}.Code(), answerType, b)
	checkAnswerTimes(s.t, method, path, res.Header.Get("Content-Type"), b) // SPEC: times carry +08:00
	checkErrorText(s.t, method, path, res.StatusCode, b)                   // no Go type names in messages
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// want fails the test unless r has status (and, if given, code).
func (r resp) want(t testing.TB, status int, code ...string) resp {
	t.Helper()
	if r.Status != status || (len(code) > 0 && r.Code() != code[0]) {
		t.Fatalf("got %d %s, want %d %v", r.Status, r.Body, status, code)
	}
	return r
}
