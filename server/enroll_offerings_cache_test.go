package main

import (
	"fmt"
	"testing"
	"time"

	"kehou/handlers"
	"kehou/models/modelstest"
)

// TestParentOfferingListCache: parents get the offerings list from a cache
// that shows a parent its own enrollment at once (other parents' writes within
// handlers.OfferingListWriteLag), that a write
// by another instance reaches within handlers.OfferingListTTL, and that
// still answers 404 to a parent without a child in the school.
func TestParentOfferingListCache(t *testing.T) {
	w := newEnrollWorld(t)
	path := fmt.Sprintf("/api/v1/schools/%d/offerings?term_id=%d", w.schoolID, w.termID)
	enrolled := func(tok string) int64 {
		t.Helper()
		items := w.do("GET", path, tok, nil).want(t, 200).JSON()["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%d offerings listed, want 1", len(items))
		}
		return jnum(items[0].(map[string]any), "enrolled")
	}
	id := w.publishedOffering(t, nil)
	if n := enrolled(w.parentTok); n != 0 {
		t.Fatalf("enrolled = %d before any enrollment", n)
	}
	t.Run("ownWriteSeenAtOnce", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": id}).want(t, 201)
		if n := enrolled(w.parentTok); n != 1 {
			t.Fatalf("enrolled = %d right after an enrollment, want 1", n)
		}
	})
	t.Run("otherInstanceWriteSeenWithinTTL", func(t *testing.T) {
		kid := modelstest.Student(t, w.db, w.schoolID, 4, "13700000001")
		other := modelstest.Parent(t, w.db, kid.ID)
		tok := w.token(other)
		before := enrolled(tok)
		// A second instance on the same database: its write does not move
		// this instance's generation.
		inst2 := newTestServerOn(t, modelstest.Open(t, w.cfg.DatabaseURL), w.cfg)
		inst2.do("POST", "/api/v1/enrollments", tok, map[string]any{"student_id": kid.ID, "offering_id": id}).want(t, 201)
		deadline := time.Now().Add(handlers.OfferingListTTL + 500*time.Millisecond)
		for enrolled(tok) != before+1 {
			if time.Now().After(deadline) {
				t.Fatalf("another instance's enrollment unseen after %v", handlers.OfferingListTTL)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("notFoundOtherSchoolParent", func(t *testing.T) {
		w.do("GET", path, w.otherParentTok, nil).want(t, 404)
	})
	t.Run("staffSeeDraftsUncached", func(t *testing.T) {
		w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok, w.offeringBody(nil)).want(t, 201)
		if items := w.do("GET", path, w.adminTok, nil).want(t, 200).JSON()["items"].([]any); len(items) != 2 {
			t.Fatalf("staff saw %d offerings, want 2", len(items))
		}
		if n := enrolled(w.parentTok); n != 2 {
			t.Fatalf("parent enrolled = %d, want 2 (the draft stays hidden)", n)
		}
	})
}
