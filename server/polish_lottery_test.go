package main

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestLotterySeedCommitted: publishing a lottery club commits its seed (the
// SHA-256 shown to parents, the seed hidden); the draw reveals the seed,
// which hashes to the commitment; re-running the published draw from the
// revealed seed and the recorded applications gives the same assignment.
func TestLotterySeedCommitted(t *testing.T) {
	w := newEnrollWorld(t)
	lot := func(name string, weekday int) func(map[string]any) {
		return func(m map[string]any) {
			m["mode"], m["capacity"], m["name"], m["weekdays"] = "lottery", 2, name, []int{weekday}
		}
	}
	a, b := w.publishedOffering(t, lot("机器人", 1)), w.publishedOffering(t, lot("围棋", 3))
	committed := map[int64]string{}
	for _, id := range []int64{a, b} {
		o := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", id), w.parentTok, nil).want(t, 200).JSON()
		sum, _ := o["seed_sha256"].(string)
		if raw, err := hex.DecodeString(sum); err != nil || len(raw) != 32 {
			t.Fatalf("offering %d seed_sha256 %q", id, sum)
		}
		if o["seed"] != nil {
			t.Fatalf("offering %d shows its seed before the draw: %v", id, o["seed"])
		}
		committed[id] = sum
	}
	if fcfs := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", w.publishedOffering(t, nil)), w.adminTok, nil).JSON(); fcfs["seed_sha256"] != nil {
		t.Fatalf("an fcfs club has a seed: %v", fcfs["seed_sha256"])
	}
	// Five applicants, ranking the two clubs (2 + 2 seats).
	students := []models.Student{w.student}
	for i := 0; i < 4; i++ {
		students = append(students, modelstest.Student(t, w.db, w.schoolID, 3+i%3, ""))
	}
	for i, s := range students {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": s.ID, "offering_id": first, "rank": 1}).want(t, 201)
		w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": s.ID, "offering_id": second, "rank": 2}).want(t, 201)
	}
	closes := time.Now().Add(-time.Second).UTC()
	if err := w.db.W.Exec("UPDATE offerings SET enroll_closes_at = ? WHERE id IN (?, ?)", closes, a, b).Error; err != nil {
		t.Fatal(err)
	}
	d := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", w.schoolID, w.termID), w.adminTok, nil).want(t, 200).JSON()
	revealed := map[int64]string{}
	for _, it := range d["offering_seeds"].([]any) {
		m := it.(map[string]any)
		id, seed := jnum(m, "offering_id"), m["seed"].(string)
		if models.SeedSHA256(seed) != committed[id] || m["seed_sha256"] != committed[id] {
			t.Fatalf("offering %d: revealed seed does not hash to the commitment %s", id, committed[id])
		}
		o := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", id), w.parentTok, nil).want(t, 200).JSON()
		if o["seed"] != seed {
			t.Fatalf("offering %d after the draw shows seed %v, the draw revealed %s", id, o["seed"], seed)
		}
		revealed[id] = seed
	}
	if len(revealed) != 2 {
		t.Fatalf("offering_seeds %v", d["offering_seeds"])
	}
	// Anyone's re-run: the draw seed from the revealed seeds, the order of
	// the applicants, serial dictatorship over their ranks.
	seed := models.DrawSeed([]string{revealed[a], revealed[b]})
	if d["seed"] != strconv.FormatInt(seed, 10) {
		t.Fatalf("draw seed %v, derived %d", d["seed"], seed)
	}
	var ids []int64
	prefs := map[int64][]int64{}
	for i, s := range students {
		ids = append(ids, s.ID)
		prefs[s.ID] = []int64{a, b}
		if i%2 == 1 {
			prefs[s.ID] = []int64{b, a}
		}
	}
	won := models.SerialDictatorship(models.DrawOrder(seed, ids), prefs, map[int64]int{a: 2, b: 2}, nil)
	for _, s := range students {
		var got []int64
		w.db.R.Raw("SELECT offering_id FROM enrollments WHERE student_id = ? AND status = 'enrolled'", s.ID).Scan(&got)
		want, ok := won[s.ID]
		if (ok && (len(got) != 1 || got[0] != want)) || (!ok && len(got) != 0) {
			t.Fatalf("student %d: enrolled in %v, the re-run gives %v (%v)", s.ID, got, want, ok)
		}
	}
}
