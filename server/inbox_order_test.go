package main

import (
	"fmt"
	"testing"
	"time"

	"kehou/models"
)

// TestInboxNewestMadeFirst: the inbox reads newest first by when each
// message was made, not by id — a message of an earlier day written later
// (the demo seed draws a 10-25 lottery after simulating 12-07) sits in its
// day's place — and paging one at a time walks every message once, in that
// order.
func TestInboxNewestMadeFirst(t *testing.T) {
	w := newAttWorld(t)
	p := w.parents[0]
	// Written in this order (ids rising), made on these days.
	made := []time.Time{sh(2030, 12, 7, 9, 29), sh(2030, 10, 25, 10, 0), sh(2030, 12, 7, 9, 29), sh(2030, 12, 4, 18, 13), sh(2030, 12, 7, 9, 30)}
	ids := make([]int64, len(made))
	for i, at := range made {
		m := models.OutboxMessage{Kind: models.NotifyDismissal, UserID: p.ID, DedupeKey: fmt.Sprintf("inbox-order:%d", i),
			Payload: `{"status":"已离校"}`, Status: models.OutboxSent, NextAttemptAt: at.UTC(), CreatedAt: at.UTC()}
		if err := w.db.W.Create(&m).Error; err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	want := []int64{ids[4], ids[2], ids[0], ids[3], ids[1]}
	ours := func(got []int64) string { // the messages of the setup (made on the real clock, years earlier) aside
		var out []int64
		for _, id := range got {
			if id >= ids[0] {
				out = append(out, id)
			}
		}
		return fmt.Sprint(out)
	}
	n := 0
	t.Run("200_one_page", func(t *testing.T) {
		var got []int64
		for _, it := range w.do("GET", "/api/v1/me/notifications", w.parentToks[0], nil).want(t, 200).JSON()["items"].([]any) {
			got = append(got, jnum(it.(map[string]any), "id"))
		}
		n = len(got)
		if ours(got) != fmt.Sprint(want) {
			t.Fatalf("inbox order %v, want %v", got, want)
		}
	})
	t.Run("200_paged_one_at_a_time", func(t *testing.T) {
		var got []int64
		cursor := ""
		for i := 0; i <= n; i++ {
			path := "/api/v1/me/notifications?limit=1"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := w.do("GET", path, w.parentToks[0], nil).want(t, 200).JSON()
			for _, it := range r["items"].([]any) {
				got = append(got, jnum(it.(map[string]any), "id"))
			}
			cursor, _ = r["next_cursor"].(string)
			if cursor == "" {
				break
			}
		}
		if ours(got) != fmt.Sprint(want) || len(got) != n {
			t.Fatalf("paged %v, want %v", got, want)
		}
	})
	t.Run("400_bad_cursor", func(t *testing.T) {
		w.do("GET", "/api/v1/me/notifications?cursor=MTIz", w.parentToks[0], nil).want(t, 400, "bad_cursor")
	})
}
