package main

import (
	"fmt"
	"testing"
)

// TestReopenOfferingHTTP: a school admin reopens a closed club (closed →
// published); reopening a published one is 409, a teacher gets 403.
func TestReopenOfferingHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	id := w.publishedOffering(t, nil)
	path := fmt.Sprintf("/api/v1/offerings/%d/reopen", id)
	w.do("POST", path, w.adminTok, nil).want(t, 409, "invalid_status")
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/close", id), w.adminTok, nil).want(t, 200)
	w.do("POST", path, w.teacherTok, nil).want(t, 403)
	w.do("POST", path, w.otherAdminTok, nil).want(t, 404)
	got := w.do("POST", path, w.adminTok, nil).want(t, 200).JSON()
	if got["status"] != "published" {
		t.Fatalf("status %v", got["status"])
	}
}
