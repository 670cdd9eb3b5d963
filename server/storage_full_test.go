package main

import (
	"strings"
	"testing"
	"time"

	"kehou/models/modelstest"
)

// TestStorageFull503: with the database's space gone in the middle of a
// rush (modelstest.FillStorage: a real SQLITE_FULL on SQLite, SQLSTATE
// 53100 on PostgreSQL), an enrollment is answered 503 storage_full with
// Retry-After, never 500; /readyz reports not ready while writes fail and
// /metrics says so; one error line is logged, not one per request. Once
// the space is back the retry with its Idempotency-Key enrolls the child
// once.
func TestStorageFull503(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, nil)
	body := map[string]any{"student_id": w.student.ID, "offering_id": oid}
	w.db.Log = w.api.Log
	w.db.StorageProbeEvery = time.Nanosecond // every /readyz probes
	restore := modelstest.FillStorage(t, w.db)
	for range 3 {
		r := w.do("POST", "/api/v1/enrollments", w.parentTok, body, "Idempotency-Key", "rush-1").want(t, 503, "storage_full")
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("503 storage_full without Retry-After: %v", r.Header)
		}
	}
	if n := strings.Count(w.logs.String(), "database storage full"); n != 1 {
		t.Fatalf("%d log lines for one full disk, want 1:\n%s", n, w.logs.String())
	}
	if n := strings.Count(w.logs.String(), `"level":"ERROR"`); n != 1 {
		t.Fatalf("%d error lines, want the one of the full disk:\n%s", n, w.logs.String())
	}
	w.do("GET", "/readyz", "", nil).want(t, 503, "storage_full")
	m := string(w.do("GET", "/metrics", "", nil).want(t, 200).Body)
	if !strings.Contains(m, "kehou_storage_full 1") || strings.Contains(m, "kehou_storage_full_writes_total 0") {
		t.Fatalf("/metrics does not say the disk is full:\n%s", m)
	}

	restore()
	w.do("GET", "/readyz", "", nil).want(t, 200)
	got := w.do("POST", "/api/v1/enrollments", w.parentTok, body, "Idempotency-Key", "rush-1").want(t, 201).JSON()
	if got["status"] != "enrolled" {
		t.Fatalf("enrollment once space is back: %v", got)
	}
	w.do("POST", "/api/v1/enrollments", w.parentTok, body, "Idempotency-Key", "rush-1").want(t, 201)
	if m := string(w.do("GET", "/metrics", "", nil).want(t, 200).Body); !strings.Contains(m, "kehou_storage_full 0") {
		t.Fatalf("/metrics still says full:\n%s", m)
	}
	modelstest.CheckInvariants(t, w.db)
}
