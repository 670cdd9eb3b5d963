package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestRuleMessagesSayWhy: limit_reached says the term's limit;
// schedule_conflict names the club it clashes with and its time.
func TestRuleMessagesSayWhy(t *testing.T) {
	w := newEnrollWorld(t) // max_clubs 2
	club := func(name string, weekdays []int, start, end string) int64 {
		return w.publishedOffering(t, func(b map[string]any) {
			b["name"], b["weekdays"], b["start_time"], b["end_time"] = name, weekdays, start, end
		})
	}
	a := club("篮球社", []int{2, 4}, "16:30", "18:00")
	b := club("国画社", []int{1}, "16:30", "18:00")
	clash := club("足球社", []int{4}, "17:00", "18:30")
	third := club("合唱团", []int{5}, "16:30", "18:00")
	for _, o := range []int64{a, b} {
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": o}).want(t, 201)
	}
	t.Run("schedule_conflict", func(t *testing.T) {
		m := checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": clash}), 409, "schedule_conflict")
		msg, _ := m["message"].(string)
		for _, part := range []string{"篮球社", "16:30-18:00", "周四"} {
			if !strings.Contains(msg, part) {
				t.Errorf("message %q does not say %q", msg, part)
			}
		}
	})
	t.Run("limit_reached", func(t *testing.T) {
		m := checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": third}), 409, "limit_reached")
		if msg, _ := m["message"].(string); !strings.Contains(msg, fmt.Sprintf("最多报名 %d 个社团", 2)) {
			t.Errorf("message %q does not say the limit", msg)
		}
	})
}
