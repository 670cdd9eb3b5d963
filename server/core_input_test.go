package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// listen serves s.app on a free local port (app.Test cannot show what a
// client gets when fasthttp itself refuses a body) and returns its base URL.
func (s *testServer) listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.app.Listener(ln); close(done) }()
	t.Cleanup(func() { _ = s.app.ShutdownWithTimeout(5 * time.Second); <-done })
	return "http://" + ln.Addr().String()
}

// TestBadInput: malformed, mistyped, empty and oversized bodies answer 4xx
// with a stable code, never 5xx, on every JSON route of the foundation.
func TestBadInput(t *testing.T) {
	s := newTestServer(t)
	admin := s.token(modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0))
	// The auth routes are rate-limited per client address: each gets a
	// server of its own, so the limit is not what answers.
	routes := []struct {
		path, token string
		s           *testServer
	}{
		{"/api/v1/auth/login", "", newTestServer(t)}, {"/api/v1/auth/refresh", "", newTestServer(t)},
		{"/api/v1/regions", admin, s}, {"/api/v1/schools", admin, s}, {"/api/v1/users", admin, s},
	}
	bodies := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"malformed400", `{"username":`, 400, "bad_json"},
		{"notJSON400", `username=a&password=b`, 400, "bad_json"},
		{"trailingGarbage400", `{} x`, 400, "bad_json"},
		{"empty400", ``, 400, "empty_body"},
		{"whitespace400", "  \n", 400, "empty_body"},
		{"array422", `[1,2]`, 422, "invalid_field"},
		{"null422", `null`, 422, "invalid_field"},
		{"emptyObject422", `{}`, 422, "invalid_field"},
		{"wrongTypes422", `{"username":5,"password":true,"refresh_token":7,"name":[],"code":{},"region_id":"x","parent_id":"y","role":1}`, 422, "invalid_field"},
		{"over64KB413", `{"username":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "too_large"},
	}
	for _, rt := range routes {
		for _, b := range bodies {
			t.Run(rt.path+"/"+b.name, func(t *testing.T) {
				if rt.token == "" && b.status == 413 {
					// fasthttp refuses an anonymous oversized body before
					// the app runs, which app.Test reports as an error:
					// TestUnauthenticatedBodyRefusedBeforeRead checks it
					// over a real connection.
					t.Skip("anonymous 413: see TestUnauthenticatedBodyRefusedBeforeRead")
				}
				r := rt.s.do("POST", rt.path, rt.token, b.body)
				if r.Status != b.status || r.Code() != b.code || r.JSON()["message"] == "" || r.JSON()["request_id"] == "" {
					t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, b.status, b.code)
				}
			})
		}
	}
	t.Run("wrongTypeNamesField", func(t *testing.T) {
		r := newTestServer(t).do("POST", "/api/v1/auth/login", "", `{"username":5,"password":"x"}`).want(t, 422, "invalid_field")
		if f, _ := r.JSON()["fields"].(map[string]any); f["username"] == nil {
			t.Fatalf("fields = %s", r.Body)
		}
	})
	t.Run("hugeNumberID422", func(t *testing.T) {
		s.do("POST", "/api/v1/schools", admin, `{"name":"x","region_id":1e400}`).want(t, 422, "invalid_field")
	})
	t.Run("unknownRoute404", func(t *testing.T) {
		// A path no route serves has a code of its own: a client tells a
		// wrong URL from a missing object (not_found).
		r := s.do("GET", "/api/v1/nothing-here", admin, nil).want(t, 404, "no_route")
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("content type %q", r.Header.Get("Content-Type"))
		}
	})
	t.Run("wrongMethod4xx", func(t *testing.T) {
		r := s.do("DELETE", "/api/v1/me", admin, nil)
		if r.Status < 400 || r.Status >= 500 || r.Code() == "" {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
	t.Run("requestIDInHeaderAndBody", func(t *testing.T) {
		r := s.do("GET", "/api/v1/me", "", nil).want(t, 401)
		if id := r.Header.Get("X-Request-ID"); id == "" || r.JSON()["request_id"] != id {
			t.Fatalf("header %q, body %s", id, r.Body)
		}
	})
}

// TestBodyOver10MB413: the app-wide limit is answered 413 with the JSON
// error body, as a real client sees it. The client announces the length
// and reads the answer before sending the body (as with Expect:
// 100-continue); the server refuses without reading 10 MB.
func TestBodyOver10MB413(t *testing.T) {
	s := newTestServer(t)
	base := strings.TrimPrefix(s.listen(t), "http://")
	tok := s.token(modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0))
	for _, path := range []string{"/api/v1/schools/1/roster", "/api/v1/auth/login"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", base, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: kehou\r\nContent-Type: text/csv\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
				path, tok, 10<<20+1)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != 413 || body["code"] != "too_large" {
				t.Fatalf("got %d %v, want 413 too_large", res.StatusCode, body)
			}
		})
	}
}

// TestAuthRateLimits: password guesses are limited per client address (a
// different username each time, so the per-username lock is not what
// answers); refreshes have their own budget, so a busy address can still
// refresh.
func TestAuthRateLimits(t *testing.T) {
	s := newTestServer(t)
	bad := func(i int) map[string]string {
		return map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "wrong-pass1"}
	}
	for i := range s.cfg.LoginRateLimit {
		if r := s.do("POST", "/api/v1/auth/login", "", bad(i)); r.Status != 401 {
			t.Fatalf("login %d: got %d %s", i+1, r.Status, r.Body)
		}
	}
	r := s.do("POST", "/api/v1/auth/login", "", bad(-1)).want(t, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "unknown"}).want(t, 401, "invalid_token")
}

func TestOperationsEndpoints(t *testing.T) {
	s := newTestServer(t)
	s.do("GET", "/healthz", "", nil).want(t, 200)
	s.do("GET", "/readyz", "", nil).want(t, 200)
	s.do("GET", "/api/v1/schools/5", "", nil).want(t, 401)
	m := s.do("GET", "/metrics", "", nil).want(t, 200)
	for _, want := range []string{
		`kehou_http_requests_total{method="GET",route="/readyz",status="200"} 1`,
		`kehou_http_requests_total{method="GET",route="/api/v1/schools/:id",status="401"} 1`,
		`kehou_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(string(m.Body), want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, m.Body)
		}
	}
	t.Run("readyz503WhenDatabaseDown", func(t *testing.T) {
		down := newTestServer(t)
		if err := down.db.Close(); err != nil {
			t.Fatal(err)
		}
		down.do("GET", "/readyz", "", nil).want(t, 503, "unavailable")
		down.do("GET", "/healthz", "", nil).want(t, 200)
	})
}

// get is a GET with a deadline, for tests of a live server.
func get(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

var errNotUp = errors.New("server did not come up")

// waitUp polls url until it answers 200.
func waitUp(url string) error {
	for range 200 {
		if code, _, err := get(context.Background(), url); err == nil && code == 200 {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%w: %s", errNotUp, url)
}
