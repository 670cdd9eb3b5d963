package main

import (
	"regexp"
	"strings"
	"testing"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestRequestIDBounded: a client's X-Request-ID is kept only when it is
// short and plain; otherwise the answer, the error body and the log carry a
// generated id instead.
func TestRequestIDBounded(t *testing.T) {
	s := newTestServer(t)
	t.Run("validKept", func(t *testing.T) {
		r := s.do("GET", "/api/v1/me", "", nil, "X-Request-ID", "trace-01.ab:CD_9").want(t, 401)
		if got := r.Header.Get("X-Request-ID"); got != "trace-01.ab:CD_9" || r.JSON()["request_id"] != got {
			t.Fatalf("request id %q, body %s", got, r.Body)
		}
	})
	bad := map[string]string{
		"tooLong":     strings.Repeat("a", 65),
		"huge":        strings.Repeat("x", 2000),
		"space":       `abc def`,
		"quote":       `abc" level=ERROR msg="forged`,
		"nonASCII":    "请求编号",
		"bidiControl": "abc\u202edef",
	}
	for name, id := range bad {
		t.Run(name+"Replaced", func(t *testing.T) {
			r := s.do("GET", "/api/v1/me", "", nil, "X-Request-ID", id).want(t, 401)
			got := r.Header.Get("X-Request-ID")
			if !uuidRe.MatchString(got) || r.JSON()["request_id"] != got {
				t.Fatalf("request id %q, body %s", got, r.Body)
			}
		})
	}
	if logs := s.logs.String(); strings.Contains(logs, "forged") || strings.Contains(logs, strings.Repeat("x", 100)) {
		t.Fatal("a rejected request id reached the log")
	}
}
