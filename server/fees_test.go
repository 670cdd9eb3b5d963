package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"kehou/models"
	"kehou/models/modelstest"
)

// The fee routes over HTTP, one test per outcome (models/fee_db_test.go
// holds the arithmetic).

func TestFeePolicyHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	var region int64
	if err := w.db.R.Raw("SELECT region_id FROM schools WHERE id = ?", w.schoolID).Scan(&region).Error; err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/regions/%d/fee-policy", region)
	t.Run("default before any", func(t *testing.T) {
		p := w.do("GET", path, w.adminTok, nil).want(t, 200)
		checkShape(t, "fee policy", decodeObject(t, p.Body), shape{"region_id": "int", "source_region_id": "int?",
			"basic_max_fen_per_session": "int?", "club_max_fen_per_session": "int?", "hold_minutes": "int", "refund_rule": "str"})
	})
	t.Run("put200", func(t *testing.T) {
		p := w.do("PUT", path, w.bureauTok, map[string]any{"basic_max_fen_per_session": 300, "club_max_fen_per_session": 1000,
			"hold_minutes": 15, "refund_rule": "none_after_start"}).want(t, 200).JSON()
		if p["club_max_fen_per_session"].(float64) != 1000 || p["refund_rule"] != "none_after_start" || p["inherited"] != false {
			t.Fatalf("policy = %v", p)
		}
	})
	t.Run("school admin may not set", func(t *testing.T) {
		w.do("PUT", path, w.adminTok, map[string]any{}).want(t, 403)
	})
	t.Run("invalid422", func(t *testing.T) {
		w.do("PUT", path, w.bureauTok, map[string]any{"refund_rule": "x", "hold_minutes": 0}).want(t, 422, "invalid_field")
	})
	t.Run("another bureau404", func(t *testing.T) {
		other := modelstest.Region(t, w.db, nil)
		b := modelstest.Staff(t, w.db, models.RoleBureauAdmin, 0, other.ID)
		w.do("PUT", path, w.token(b), map[string]any{}).want(t, 404)
		w.do("GET", path, w.token(b), nil).want(t, 404)
	})
	t.Run("fee_over_cap422", func(t *testing.T) {
		o := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok, w.offeringBody(func(b map[string]any) {
			b["fee_fen"], b["billing"] = 1001, "session"
		})).want(t, 201).JSON()
		if o["billing"] != "session" {
			t.Fatalf("billing = %v", o["billing"])
		}
		w.do("POST", fmt.Sprintf("/api/v1/offerings/%v/publish", o["id"]), w.adminTok, nil).want(t, 422, "fee_over_cap")
	})
	t.Run("bad billing422", func(t *testing.T) {
		w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok, w.offeringBody(func(b map[string]any) {
			b["billing"] = "year"
		})).want(t, 422, "invalid_field")
	})
}

func TestSchoolFeesHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	w.publishedOffering(t, func(b map[string]any) { b["fee_fen"], b["billing"] = 500, "session" })
	path := fmt.Sprintf("/api/v1/schools/%d/fees?term_id=%d", w.schoolID, w.termID)
	for _, who := range []struct{ name, tok string }{{"parent", w.parentTok}, {"teacher", w.teacherTok}} {
		t.Run(who.name+"200", func(t *testing.T) {
			m := decodeObject(t, w.do("GET", path, who.tok, nil).want(t, 200).Body)
			checkShape(t, "fees", m, shape{"items": "arr", "policy": "obj", "waiver_rule": "str"})
			items := m["items"].([]any)
			if len(items) != 1 {
				t.Fatalf("items = %v", items)
			}
			checkShape(t, "fee line", items[0].(map[string]any), shape{"offering_id": "int", "billing": "str", "unit_fen": "int",
				"sessions": "int", "term_amount_fen": "int", "per_session_fen": "int"})
		})
	}
	t.Run("another school's parent404", func(t *testing.T) {
		w.do("GET", path, w.otherParentTok, nil).want(t, 404)
	})
}

// feeOrder publishes a priced club and enrolls the world's student in it;
// it returns the id of the order the seat opened.
func feeOrder(t *testing.T, w *enrollWorld) int64 {
	t.Helper()
	oid := w.publishedOffering(t, func(b map[string]any) { b["fee_fen"], b["billing"] = 300, "session" })
	e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201).JSON()
	id, ok := e["order_id"].(float64)
	if !ok || id == 0 {
		t.Fatalf("a seat in a priced club opened no order: %v", e)
	}
	return int64(id)
}

func TestOrdersHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	id := feeOrder(t, w)
	path := fmt.Sprintf("/api/v1/orders/%d", id)
	t.Run("guardian200", func(t *testing.T) {
		m := decodeObject(t, w.do("GET", path, w.parentTok, nil).want(t, 200).Body)
		checkShape(t, "order", m, shape{"id": "int", "amount_fen": "int", "waiver": "str", "status": "str", "refunds": "arr",
			"ledger": "arr", "owed_fen": "int", "gross_fen": "int", "refundable_fen": "int"})
		if m["status"] != "unpaid" {
			t.Fatalf("status = %v", m["status"])
		}
	})
	t.Run("another parent404", func(t *testing.T) { w.do("GET", path, w.otherParentTok, nil).want(t, 404) })
	t.Run("payment422", func(t *testing.T) {
		w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "cheque", "ref": "", "paid_at": "soon"}).want(t, 422, "invalid_field")
	})
	t.Run("teacher403", func(t *testing.T) {
		w.do("POST", path+"/payments", w.teacherTok, map[string]any{"method": "bank", "ref": "B1", "paid_at": time.Now().Format(time.RFC3339)}).want(t, 403)
	})
	t.Run("another school404", func(t *testing.T) {
		w.do("POST", path+"/payments", w.otherAdminTok, map[string]any{"method": "bank", "ref": "B1", "paid_at": time.Now().Format(time.RFC3339)}).want(t, 404)
	})
	t.Run("unpaid holds200", func(t *testing.T) {
		m := decodeObject(t, w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders?status=unpaid", w.schoolID), w.teacherTok, nil).want(t, 200).Body)
		items := m["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("items = %v", items)
		}
		checkShape(t, "school order", items[0].(map[string]any), shape{"id": "int", "student_name": "str", "offering_name": "str",
			"amount_fen": "int", "status": "str", "hold_expires_at": "time"})
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders", w.schoolID), w.otherAdminTok, nil).want(t, 404)
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/orders", w.schoolID), w.parentTok, nil).want(t, 403)
	})
	body := map[string]any{"method": "bank", "ref": "B1", "paid_at": time.Now().Format(time.RFC3339)}
	t.Run("payment200", func(t *testing.T) {
		m := w.do("POST", path+"/payments", w.adminTok, body).want(t, 200).JSON()
		if m["status"] != "paid" || m["owed_fen"].(float64) != 0 {
			t.Fatalf("order = %v", m)
		}
		es := w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok, nil).want(t, 200).JSON()
		if e := es["items"].([]any)[0].(map[string]any); e["status"] != "enrolled" || e["order_id"] == nil {
			t.Fatalf("the paid seat = %v", e)
		}
		w.do("POST", path+"/payments", w.adminTok, body).want(t, 200) // a retry
	})
	t.Run("nothing_owed409", func(t *testing.T) {
		w.do("POST", path+"/payments", w.adminTok, map[string]any{"method": "cash", "ref": "C2", "paid_at": time.Now().Format(time.RFC3339)}).
			want(t, 409, "nothing_owed")
	})
	t.Run("refund200", func(t *testing.T) {
		m := w.do("POST", path+"/refunds", w.adminTok, map[string]any{"amount_fen": 100, "reason": "多收"}, "Idempotency-Key", "r-1").want(t, 200).JSON()
		if m["status"] != "partially_refunded" || len(m["refunds"].([]any)) != 1 {
			t.Fatalf("order = %v", m)
		}
		if m["refundable_fen"].(float64) != m["paid_fen"].(float64)-100 || m["paid_fen"].(float64) == 0 {
			t.Fatalf("refundable %v of paid %v after refunding 100", m["refundable_fen"], m["paid_fen"])
		}
		m = w.do("POST", path+"/refunds", w.adminTok, map[string]any{"amount_fen": 100, "reason": "多收"}, "Idempotency-Key", "r-1").want(t, 200).JSON()
		if m["refunded_fen"].(float64) != 100 {
			t.Fatalf("a retry refunded again: %v", m["refunded_fen"])
		}
	})
	t.Run("idempotency_key_reused422", func(t *testing.T) {
		w.do("POST", path+"/refunds", w.adminTok, map[string]any{"amount_fen": 200, "reason": "多收"}, "Idempotency-Key", "r-1").
			want(t, 422, "idempotency_key_reused")
	})
	t.Run("duplicate_refund409", func(t *testing.T) {
		// No key: the client's retry after a lost answer is refused, not
		// refunded again.
		b := map[string]any{"amount_fen": 150, "reason": "停课一次"}
		w.do("POST", path+"/refunds", w.adminTok, b).want(t, 200)
		w.do("POST", path+"/refunds", w.adminTok, b).want(t, 409, "duplicate_refund")
		if m := w.do("GET", path, w.adminTok, nil).want(t, 200).JSON(); m["refunded_fen"].(float64) != 250 {
			t.Fatalf("refunded %v, want 100 + 150", m["refunded_fen"])
		}
	})
	t.Run("refund_above_paid422", func(t *testing.T) {
		w.do("POST", path+"/refunds", w.adminTok, map[string]any{"amount_fen": 100_000_000, "reason": "全退"}).want(t, 422, "refund_above_paid")
	})
	t.Run("refund without amount422", func(t *testing.T) {
		w.do("POST", path+"/refunds", w.adminTok, map[string]any{"reason": "全退"}).want(t, 422, "invalid_field")
	})
	modelstest.CheckInvariants(t, w.db)
}

func TestPatchStudentWaiverHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	path := fmt.Sprintf("/api/v1/students/%d", w.student.ID)
	t.Run("admin200", func(t *testing.T) {
		m := w.do("PATCH", path, w.adminTok, map[string]any{"fee_waiver": "half", "waiver_reason": "dibao"}).want(t, 200).JSON()
		if m["fee_waiver"] != "half" || m["waiver_reason"] != "dibao" {
			t.Fatalf("waiver = %v", m)
		}
	})
	t.Run("teacher403", func(t *testing.T) {
		w.do("PATCH", path, w.teacherTok, map[string]any{"fee_waiver": "full", "waiver_reason": "dibao"}).want(t, 403)
	})
	t.Run("another school404", func(t *testing.T) {
		w.do("PATCH", path, w.otherAdminTok, map[string]any{"fee_waiver": "full", "waiver_reason": "dibao"}).want(t, 404)
	})
	t.Run("invalid422", func(t *testing.T) {
		w.do("PATCH", path, w.adminTok, map[string]any{"fee_waiver": "most"}).want(t, 422, "invalid_field")
	})
}

func TestStatsFinanceHTTP(t *testing.T) {
	w := newEnrollWorld(t)
	id := feeOrder(t, w)
	w.do("POST", fmt.Sprintf("/api/v1/orders/%d/payments", id), w.adminTok, map[string]any{"method": "cash", "ref": "C1",
		"paid_at": time.Now().Format(time.RFC3339)}).want(t, 200)
	t.Run("bureau200", func(t *testing.T) {
		m := decodeObject(t, w.do("GET", "/api/v1/stats/finance", w.bureauTok, nil).want(t, 200).Body)
		checkShape(t, "finance", m, shape{"scope": "str", "scope_id": "int", "totals": "obj", "schools": "arr"})
		totals := m["totals"].(map[string]any)
		checkShape(t, "totals", totals, shape{"billed_fen": "int", "billed_students": "int", "collected_fen": "int",
			"collected_students": "int", "refunded_fen": "int", "refunded_students": "int", "waived_fen": "int",
			"waived_students": "int", "outstanding_fen": "int", "outstanding_students": "int"})
		if fmt.Sprint(totals["collected_fen"]) != fmt.Sprint(totals["billed_fen"]) || fmt.Sprint(totals["collected_students"]) != "1" {
			t.Fatalf("totals = %v", totals)
		}
	})
	t.Run("school admin200", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/stats/finance?school_id=%d&term_id=%d", w.schoolID, w.termID), w.adminTok, nil).want(t, 200)
	})
	t.Run("another school404", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/stats/finance?school_id=%d", w.schoolID), w.otherAdminTok, nil).want(t, 404)
	})
	t.Run("teacher403", func(t *testing.T) {
		w.do("GET", "/api/v1/stats/finance", w.teacherTok, nil).want(t, 403)
	})
	// Amounts: "9.00" in CSV; in XLSX a number (a spreadsheet sums it)
	// shown to the fen.
	t.Run("csv200", func(t *testing.T) {
		r := w.do("GET", "/api/v1/stats/finance?format=csv", w.bureauTok, nil).want(t, 200)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\uFEFF")))).ReadAll()
		if err != nil || len(recs) < 2 || recs[0][2] != "应收（元）" || !regexp.MustCompile(`^\d+\.\d\d$`).MatchString(recs[1][2]) {
			t.Fatalf("csv %q, %v", recs, err)
		}
	})
	t.Run("xlsx200", func(t *testing.T) {
		r := w.do("GET", "/api/v1/stats/finance?format=xlsx", w.bureauTok, nil).want(t, 200)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheet := f.GetSheetName(0)
		if h, _ := f.GetCellValue(sheet, "C1"); h != "应收（元）" {
			t.Fatalf("C1 = %q", h)
		}
		typ, _ := f.GetCellType(sheet, "C2")
		raw, _ := f.GetCellValue(sheet, "C2", excelize.Options{RawCellValue: true})
		shown, _ := f.GetCellValue(sheet, "C2")
		if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || !regexp.MustCompile(`^[\d,]+\.\d\d$`).MatchString(shown) ||
			strings.Contains(raw, ",") {
			t.Fatalf("an amount cell: type %v, raw %q, shown %q", typ, raw, shown)
		}
		checkXLSXDimension(t, f)
	})
}
