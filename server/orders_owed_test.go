package main

import (
	"fmt"
	"testing"
)

// TestSchoolOrderListOwed: after a session of a priced club is cancelled,
// each order of the school's list carries credited_fen and owed_fen as GET
// /orders/{id} says them — the held seat owes its bill less the cancelled
// session's credit, a paid one owes nothing (the console's 应缴 and its
// payment dialog read owed_fen: they said the bill before the credit).
func TestSchoolOrderListOwed(t *testing.T) {
	w := newMoneyWorld(t)
	ss := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?limit=100", w.offeringID), w.adminTok, nil).want(t, 200).JSON()["items"].([]any)
	if len(ss) < 2 {
		t.Fatalf("the club has %d sessions", len(ss))
	}
	last := ss[len(ss)-1].(map[string]any)
	w.do("POST", fmt.Sprintf("/api/v1/sessions/%v/cancel", last["id"]), w.adminTok, map[string]any{"reason": "暴雨停课"}).want(t, 200)
	rows := w.list(t, w.adminTok, "")
	if len(rows) != 3 {
		t.Fatalf("%d orders listed, want 3", len(rows))
	}
	for _, r := range rows {
		checkShape(t, "school order", r, shape{"credited_fen": "int", "owed_fen": "int"})
		id := int64(r["id"].(float64))
		d := w.do("GET", fmt.Sprintf("/api/v1/orders/%d", id), w.adminTok, nil).want(t, 200).JSON()
		if r["owed_fen"] != d["owed_fen"] || r["credited_fen"] != d["credited_fen"] {
			t.Fatalf("order %d: listed owed, credited = %v, %v; GET /orders says %v, %v", id, r["owed_fen"], r["credited_fen"], d["owed_fen"], d["credited_fen"])
		}
		amount, owed, credited := r["amount_fen"].(float64), r["owed_fen"].(float64), r["credited_fen"].(float64)
		switch id {
		case w.held:
			if credited != 300 || owed != amount-300 {
				t.Fatalf("the held order: amount %v, credited %v, owed %v; want 300 credited and owed the rest", amount, credited, owed)
			}
		default:
			if credited != 0 || owed != 0 {
				t.Fatalf("paid order %d: credited %v, owed %v, want 0, 0 (its share is refunded)", id, credited, owed)
			}
		}
	}
}
