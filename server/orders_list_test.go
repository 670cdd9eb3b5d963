package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/models"
	"kehou/models/modelstest"
)

// The reads the console's money pages are built on: a school's orders
// (filters, search, the ledger's sums), the held seats of its offerings,
// and the reconciliation's differences as each admin sees them.

// moneyWorld is an enrollWorld with three orders in one priced club: the
// world's student's (paid, then 1 yuan refunded), 王小明's (held, unpaid)
// and 李100%'s (paid).
type moneyWorld struct {
	*enrollWorld
	offeringID               int64
	refunded, held, paid     int64
	heldStudent, paidStudent models.Student
}

func newMoneyWorld(t *testing.T) *moneyWorld {
	t.Helper()
	w := &moneyWorld{enrollWorld: newEnrollWorld(t)}
	w.offeringID = w.publishedOffering(t, func(b map[string]any) { b["fee_fen"], b["billing"], b["name"] = 300, "session", "收费社团" })
	seat := func(st models.Student, name, no string) int64 {
		if err := w.db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.Exec("UPDATE students SET name = ?, student_no = ? WHERE id = ?", name, no, st.ID).Error
		}); err != nil {
			t.Fatal(err)
		}
		e := w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": st.ID, "offering_id": w.offeringID}).want(t, 201).JSON()
		if e["status"] != "pending_payment" {
			t.Fatalf("a seat in a priced club = %v", e)
		}
		return int64(e["order_id"].(float64))
	}
	pay := func(order int64, ref string) {
		w.do("POST", fmt.Sprintf("/api/v1/orders/%d/payments", order), w.adminTok, map[string]any{"method": "bank", "ref": ref,
			"paid_at": time.Now().Format(time.RFC3339)}).want(t, 200)
	}
	w.refunded = seat(w.student, "张三", "2026001")
	pay(w.refunded, "B-1")
	w.do("POST", fmt.Sprintf("/api/v1/orders/%d/refunds", w.refunded), w.adminTok, map[string]any{"amount_fen": 100, "reason": "少上一次课"},
		"Idempotency-Key", "money-1").want(t, 200)
	w.heldStudent = modelstest.Student(t, w.db, w.schoolID, 3, "")
	w.held = seat(w.heldStudent, "王小明", "2026002")
	w.paidStudent = modelstest.Student(t, w.db, w.schoolID, 3, "")
	w.paid = seat(w.paidStudent, "李100%", "3026003")
	pay(w.paid, "B-2")
	return w
}

// list reads the school's orders with query q as tok and answers their ids.
func (w *moneyWorld) list(t *testing.T, tok, q string) []map[string]any {
	t.Helper()
	m := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?%s", w.schoolID, q), tok, nil).want(t, 200).JSON()
	var out []map[string]any
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func orderIDs(rows []map[string]any) string {
	var s []string
	for _, r := range rows {
		s = append(s, fmt.Sprint(r["id"]))
	}
	return strings.Join(s, ",")
}

func TestSchoolOrderList(t *testing.T) {
	w := newMoneyWorld(t)
	want := func(t *testing.T, q string, orders ...int64) {
		t.Helper()
		var s []string
		for _, o := range orders {
			s = append(s, fmt.Sprint(o))
		}
		if got := orderIDs(w.list(t, w.adminTok, q)); got != strings.Join(s, ",") {
			t.Fatalf("?%s lists %s, want %s", q, got, strings.Join(s, ","))
		}
	}
	t.Run("all newest first", func(t *testing.T) { want(t, "", w.paid, w.held, w.refunded) })
	t.Run("status", func(t *testing.T) {
		want(t, "status=unpaid", w.held)
		want(t, "status=paid", w.paid)
		want(t, "status=partially_refunded", w.refunded)
		want(t, "status=refunded")
	})
	t.Run("term", func(t *testing.T) {
		want(t, fmt.Sprintf("term_id=%d", w.termID), w.paid, w.held, w.refunded)
		want(t, fmt.Sprintf("term_id=%d", w.termID+1000))
	})
	t.Run("search by part of a name", func(t *testing.T) { want(t, "q="+url.QueryEscape("小明"), w.held) })
	t.Run("search by the start of a number", func(t *testing.T) {
		want(t, "q=2026", w.held, w.refunded)
		want(t, "q=026") // a number matches from its start only
	})
	t.Run("wildcards are letters", func(t *testing.T) {
		want(t, "q="+url.QueryEscape("100%"), w.paid)
		want(t, "q="+url.QueryEscape("%"), w.paid)
		want(t, "q=_")
	})
	t.Run("status and search", func(t *testing.T) { want(t, "status=paid&q=2026") })
	t.Run("sums from the ledger", func(t *testing.T) {
		for _, r := range w.list(t, w.teacherTok, "") {
			checkShape(t, "school order", r, shape{"id": "int", "term_id": "int", "billing": "str", "paid_fen": "int",
				"refunded_fen": "int", "refundable_fen": "int", "hold_expires_at": "time?"})
			a := r["amount_fen"].(float64) // 3 yuan × the club's sessions
			want := map[int64][3]float64{w.refunded: {a, 100, a - 100}, w.held: {0, 0, 0}, w.paid: {a, 0, a}}[int64(r["id"].(float64))]
			if got := [3]float64{r["paid_fen"].(float64), r["refunded_fen"].(float64), r["refundable_fen"].(float64)}; got != want {
				t.Fatalf("order %v: paid, refunded, refundable = %v, want %v", r["id"], got, want)
			}
			if (r["hold_expires_at"] != nil) != (int64(r["id"].(float64)) == w.held) {
				t.Fatalf("order %v: hold_expires_at = %v", r["id"], r["hold_expires_at"])
			}
		}
	})
	t.Run("paged", func(t *testing.T) {
		m := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?limit=2", w.schoolID), w.adminTok, nil).want(t, 200).JSON()
		cur, _ := m["next_cursor"].(string)
		if len(m["items"].([]any)) != 2 || cur == "" {
			t.Fatalf("first page = %v", m)
		}
		want(t, "limit=2&cursor="+cur, w.refunded)
	})
	t.Run("search too long422", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?q=%s", w.schoolID, strings.Repeat("长", 41)), w.adminTok, nil).want(t, 422, "invalid_field")
	})
	t.Run("search not text422", func(t *testing.T) {
		// PostgreSQL refuses these bytes as text: a 500 there before.
		for _, q := range []string{"%FF", "%00", "%E2%80%AE"} {
			w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?q=%s", w.schoolID, q), w.adminTok, nil).want(t, 422, "invalid_field")
		}
	})
	t.Run("bad status400", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?status=owing", w.schoolID), w.adminTok, nil).want(t, 400, "bad_param")
	})
	t.Run("another school404", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?q=2026", w.schoolID), w.otherAdminTok, nil).want(t, 404)
	})
	t.Run("parent403", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders", w.schoolID), w.parentTok, nil).want(t, 403)
	})
	t.Run("read logged", func(t *testing.T) {
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = 'list_school_orders' AND user_id = ? AND school_id = ?",
			w.teacher.ID, w.schoolID).Scan(&n)
		if n == 0 {
			t.Fatal("the teacher's read of the orders is not in the staff access log")
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

func TestOfferingListHeldSeats(t *testing.T) {
	w := newMoneyWorld(t)
	free := w.publishedOffering(t, func(b map[string]any) { b["name"], b["weekdays"] = "免费社团", []int{5} })
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": free}).want(t, 201)
	byID := func(tok string) map[int64]map[string]any {
		m := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings?term_id=%d", w.schoolID, w.termID), tok, nil).want(t, 200).JSON()
		out := map[int64]map[string]any{}
		for _, it := range m["items"].([]any) {
			o := it.(map[string]any)
			out[int64(o["id"].(float64))] = o
		}
		return out
	}
	t.Run("staff see held apart", func(t *testing.T) {
		for _, tok := range []string{w.adminTok, w.teacherTok} {
			os := byID(tok)
			if p := os[w.offeringID]; p["enrolled"].(float64) != 3 || p["held"] != float64(1) {
				t.Fatalf("the priced club: enrolled %v, held %v; want 3 seats, 1 held", p["enrolled"], p["held"])
			}
			if f := os[free]; f["enrolled"].(float64) != 1 || f["held"] != float64(0) {
				t.Fatalf("the free club: enrolled %v, held %v", f["enrolled"], f["held"])
			}
		}
	})
	t.Run("parents do not", func(t *testing.T) {
		if _, ok := byID(w.parentTok)[w.offeringID]["held"]; ok {
			t.Fatal("a parent's list carries held")
		}
	})
	t.Run("paying moves a seat from held to enrolled", func(t *testing.T) {
		w.do("POST", fmt.Sprintf("/api/v1/orders/%d/payments", w.held), w.adminTok, map[string]any{"method": "cash", "ref": "C-9",
			"paid_at": time.Now().Format(time.RFC3339)}).want(t, 200)
		if p := byID(w.adminTok)[w.offeringID]; p["enrolled"].(float64) != 3 || p["held"] != float64(0) {
			t.Fatalf("after the payment: enrolled %v, held %v", p["enrolled"], p["held"])
		}
	})
}

func TestReconcileDiffView(t *testing.T) {
	w := newMoneyWorld(t)
	ctx := context.Background()
	path := "/api/v1/pay/reconciliation"
	t.Run("empty and never run", func(t *testing.T) {
		m := w.do("GET", path, w.adminTok, nil).want(t, 200).JSON()
		checkShape(t, "reconciliation", m, shape{"items": "arr", "from": "str", "to": "str", "wechat_pay": "bool", "last_run_at": "time?"})
		if len(m["items"].([]any)) != 0 || m["last_run_at"] != nil || m["wechat_pay"] != false {
			t.Fatalf("before any run = %v", m)
		}
	})
	// The held order went to WeChat Pay; the bill shows it paid and kehou
	// has no such payment (missing_local), and a trade kehou never made.
	now := time.Now()
	trade := models.OutTradeNo(w.held, 300)
	if err := w.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO pay_orders (order_id, school_id, out_trade_no, amount_fen, payer_user_id, created_at, updated_at)
			VALUES (?, ?, ?, 300, ?, ?, ?)`, w.held, w.schoolID, trade, w.parent.ID, now, now).Error
	}); err != nil {
		t.Fatal(err)
	}
	day := models.LocalDate(now)
	if _, err := models.ReconcileWeChatPay(ctx, w.db, day, []models.BillLine{{OutTradeNo: trade, TransactionID: "4200000001", AmountFen: 300},
		{OutTradeNo: "KH9999999999-1", TransactionID: "4200000002", AmountFen: 1}}); err != nil {
		t.Fatal(err)
	}
	run, err := models.StartJobRun(ctx, w.db, models.JobRun{Name: "reconcile", Trigger: models.TriggerScheduled, Instance: "t", StartedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := models.FinishJobRun(ctx, w.db, &run, models.RunSucceeded, "", 2, now); err != nil {
		t.Fatal(err)
	}
	t.Run("school admin reads the child", func(t *testing.T) {
		m := w.do("GET", path, w.adminTok, nil).want(t, 200).JSON()
		items := m["items"].([]any)
		if len(items) != 1 || m["last_run_at"] == nil {
			t.Fatalf("the school's differences = %v", m)
		}
		d := items[0].(map[string]any)
		checkShape(t, "difference", d, shape{"bill_date": "str", "kind": "str", "order_id": "int", "school_name": "str",
			"student_name": "str", "offering_name": "str", "local_fen": "int", "remote_fen": "int"})
		if d["kind"] != models.DiffMissingLocal || int64(d["order_id"].(float64)) != w.held || d["student_name"] != "王小明" ||
			d["offering_name"] != "收费社团" || d["remote_fen"].(float64) != 300 || d["bill_date"] != day {
			t.Fatalf("difference = %v", d)
		}
		var n int64
		w.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = 'list_reconcile_diffs' AND user_id = ?", w.admin.ID).Scan(&n)
		if n == 0 {
			t.Fatal("the admin's read of the children's orders is not logged")
		}
	})
	t.Run("bureau reads schools not children", func(t *testing.T) {
		items := w.do("GET", path, w.bureauTok, nil).want(t, 200).JSON()["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("the bureau's differences = %v", items)
		}
		d := items[0].(map[string]any)
		if d["school_name"] == nil || d["order_id"] == nil {
			t.Fatalf("difference = %v", d)
		}
		if _, ok := d["student_name"]; ok {
			t.Fatalf("a bureau reads the child: %v", d)
		}
	})
	t.Run("another school sees none", func(t *testing.T) {
		if items := w.do("GET", path, w.otherAdminTok, nil).want(t, 200).JSON()["items"].([]any); len(items) != 0 {
			t.Fatalf("another school's admin sees %v", items)
		}
	})
	t.Run("a day outside the range", func(t *testing.T) {
		before := now.AddDate(0, 0, -2).Format(time.DateOnly)
		if items := w.do("GET", path+"?to="+before, w.adminTok, nil).want(t, 200).JSON()["items"].([]any); len(items) != 0 {
			t.Fatalf("to=%s lists %v", before, items)
		}
	})
}
