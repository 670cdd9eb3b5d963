package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// rfc3339Re finds RFC 3339 date-times (with seconds and an offset) inside a
// JSON body.
var rfc3339Re = regexp.MustCompile(`"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"`)

// checkAnswerTimes fails the test for every RFC 3339 time of a JSON answer
// that is not in Asia/Shanghai (+08:00): SPEC "Times in answers carry the
// +08:00 offset". The harness calls it on every answer of every server
// test, so each route's answers are scanned as its own tests drive it.
func checkAnswerTimes(t testing.TB, method, path, contentType string, body []byte) {
	t.Helper()
	if !strings.Contains(contentType, "json") {
		return
	}
	for _, m := range rfc3339Re.FindAll(body, -1) {
		if !strings.HasSuffix(string(m), `+08:00"`) {
			t.Errorf("%s %s: time %s is not in +08:00: %s", method, path, m, body)
			return
		}
	}
}

// TestAnswerTimesInShanghai drives the routes that answer times (terms,
// offerings, enrollments, surveys, schools, users, job runs, stats) and,
// through the harness, scans every answer; it also checks the scanner
// itself catches a UTC time.
func TestAnswerTimesInShanghai(t *testing.T) {
	t.Run("scannerCatchesUTC", func(t *testing.T) {
		ft := &fakeT{TB: t}
		checkAnswerTimes(ft, "GET", "/x", "application/json", []byte(`{"created_at":"2026-12-03T02:00:00Z"}`))
		checkAnswerTimes(ft, "GET", "/x", "application/json", []byte(`{"a":"2026-12-03T10:00:00+08:00"}`))
		if ft.errors != 1 {
			t.Fatalf("scanner reported %d errors, want 1", ft.errors)
		}
	})
	w := newPagesWorld(t)
	gets := []struct{ path, tok string }{
		{"/api/v1/me", w.adminTok},
		{fmt.Sprintf("/api/v1/schools/%d", w.schoolID), w.adminTok},
		{fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok},
		{fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok},
		{fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.parentTok},
		{fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok},
		{"/api/v1/surveys", w.adminTok},
		{"/api/v1/surveys", w.parentTok},
		{"/api/v1/jobs/runs", w.platformTok},
		{"/api/v1/stats/overview", w.bureauTok},
		{"/api/v1/stats/schools", w.bureauTok},
	}
	for _, g := range gets {
		r := w.do("GET", g.path, g.tok, nil).want(t, 200)
		if !rfc3339Re.Match(r.Body) && g.path != "/api/v1/stats/schools" {
			t.Errorf("GET %s answered no time at all: %s", g.path, r.Body)
		}
	}
	runs := w.do("GET", "/api/v1/jobs/runs?limit=1", w.platformTok, nil).want(t, 200).JSON()
	run := runs["items"].([]any)[0].(map[string]any)
	if s, _ := run["started_at"].(string); !strings.HasSuffix(s, "+08:00") {
		t.Fatalf("job run started_at %q", s)
	}
}

// fakeT counts Errorf calls instead of failing.
type fakeT struct {
	testing.TB
	errors int
}

func (f *fakeT) Errorf(string, ...any) { f.errors++ }
func (f *fakeT) Helper()               {}
