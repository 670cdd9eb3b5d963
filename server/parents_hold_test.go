package main

import (
	"fmt"
	"testing"
	"time"
)

// heldOf finds enrollment id among the children of a /me or login answer.
func heldOf(t *testing.T, answer map[string]any, id float64) map[string]any {
	t.Helper()
	for _, k := range answer["children"].([]any) {
		for _, e := range k.(map[string]any)["enrollments"].([]any) {
			if m := e.(map[string]any); m["id"] == id {
				return m
			}
		}
	}
	t.Fatalf("enrollment %v not among the children: %v", id, answer["children"])
	return nil
}

// TestHeldSeatPayableFromChildren: a parent who sees 待缴费 in "my
// children" (GET /me, the login answer) gets the seat's order id and
// amount there, and GET /orders/{id} says until when the seat is held;
// once paid, the order names no hold.
func TestHeldSeatPayableFromChildren(t *testing.T) {
	w := newEnrollWorld(t)
	f := withTemplates(t, w.testServer, nil)
	free := w.publishedOffering(t, func(b map[string]any) { b["weekdays"] = []int{1} })
	priced := w.publishedOffering(t, func(b map[string]any) {
		b["fee_fen"], b["billing"], b["weekdays"], b["name"] = 300, "session", []int{2}, "收费社团"
	})
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": free}).want(t, 201)
	e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": priced}).want(t, 201).JSON()
	if e["status"] != "pending_payment" {
		t.Fatalf("a seat in a priced club = %v", e)
	}
	id, order, amount := e["id"].(float64), e["order_id"].(float64), e["amount_fen"].(float64)
	check := func(t *testing.T, what string, m map[string]any) {
		t.Helper()
		if m["order_id"] != order || m["amount_fen"] != amount || m["hold_expires_at"] == nil {
			t.Fatalf("%s: held seat %v, want order_id %v amount_fen %v and hold_expires_at", what, m, order, amount)
		}
	}
	t.Run("me200", func(t *testing.T) {
		me := w.do("GET", "/api/v1/me", w.parentTok, nil).want(t, 200).JSON()
		check(t, "GET /me", heldOf(t, me, id))
		for _, k := range me["children"].([]any) {
			for _, x := range k.(map[string]any)["enrollments"].([]any) {
				if m := x.(map[string]any); m["id"] != id && (m["order_id"] != nil || m["amount_fen"] != nil) {
					t.Fatalf("a free seat names an order: %v", m)
				}
			}
		}
	})
	t.Run("login200", func(t *testing.T) {
		r := w.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(*w.parent.OpenID, "")}).want(t, 200).JSON()
		check(t, "login", heldOf(t, r, id))
	})
	path := fmt.Sprintf("/api/v1/orders/%d", int64(order))
	t.Run("orderHoldEnd200", func(t *testing.T) {
		m := w.do("GET", path, w.parentTok, nil).want(t, 200).JSON()
		if m["status"] != "unpaid" || m["hold_expires_at"] != e["hold_expires_at"] {
			t.Fatalf("unpaid order %v, want hold_expires_at %v", m, e["hold_expires_at"])
		}
	})
	t.Run("paidOrderNoHold200", func(t *testing.T) {
		w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "cash", "ref": "C1", "paid_at": time.Now().Format(time.RFC3339)}).want(t, 200)
		m := w.do("GET", path, w.parentTok, nil).want(t, 200).JSON()
		if m["status"] != "paid" || m["hold_expires_at"] != nil {
			t.Fatalf("paid order %v: want no hold_expires_at", m)
		}
		me := w.do("GET", "/api/v1/me", w.parentTok, nil).want(t, 200).JSON()
		if s := heldOf(t, me, id); s["status"] != "enrolled" || s["order_id"] != order || s["hold_expires_at"] != nil {
			t.Fatalf("the paid seat in /me = %v", s)
		}
	})
}

// TestPaymentDatedBeforeOrder422: a payment recorded by the school may not
// be dated before its order was made, nor in the future; nothing is
// written then.
func TestPaymentDatedBeforeOrder422(t *testing.T) {
	w := newEnrollWorld(t)
	path := fmt.Sprintf("/api/v1/orders/%d", feeOrder(t, w))
	for _, c := range []struct {
		name string
		at   time.Time
	}{{"beforeOrder422", time.Now().Add(-48 * time.Hour)}, {"future422", time.Now().Add(2 * time.Hour)}} {
		t.Run(c.name, func(t *testing.T) {
			r := w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "bank", "ref": "B-" + c.name, "paid_at": c.at.Format(time.RFC3339)}).
				want(t, 422, "invalid_field")
			if fs, _ := r.JSON()["fields"].(map[string]any); fs["paid_at"] == nil {
				t.Fatalf("answer %s: want a paid_at message", r.Body)
			}
			if m := w.do("GET", path, w.adminTok, nil).want(t, 200).JSON(); m["paid_fen"].(float64) != 0 || len(m["ledger"].([]any)) != 1 {
				t.Fatalf("a refused payment moved money: %v", m)
			}
		})
	}
	t.Run("sameMinute200", func(t *testing.T) {
		w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "bank", "ref": "B-now", "paid_at": time.Now().Truncate(time.Minute).Format(time.RFC3339)}).
			want(t, 200)
	})
}
