package models_test

import (
	"context"
	"errors"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

func waiverRow(no, phone, waiver, reason string) models.RosterRow {
	r := row(no, "张小明", "男", "3", "2班", "张伟", phone, "父亲")
	r.FeeWaiver, r.WaiverReason = waiver, reason
	return r
}

// TestValidateRosterWaiver: the waiver cells take the vocabulary of PATCH
// /students/{id} and the words schools write; an empty pair leaves the
// waiver as it is; every refusal names its row and column.
func TestValidateRosterWaiver(t *testing.T) {
	ok := []struct {
		name, waiver, reason string
		want                 *models.RosterWaiver
	}{
		{"bothEmptyLeavesIt", "", "", nil},
		{"codes", "half", "dibao", &models.RosterWaiver{Waiver: models.WaiverHalf, Reason: models.WaiverDibao}},
		{"chineseFull", "全免", "建档立卡", &models.RosterWaiver{Waiver: models.WaiverFull, Reason: models.WaiverPovertyRegistered}},
		{"chineseHalf", " 减半 ", "低保户", &models.RosterWaiver{Waiver: models.WaiverHalf, Reason: models.WaiverDibao}},
		{"upperCase", "FULL", "Disability", &models.RosterWaiver{Waiver: models.WaiverFull, Reason: models.WaiverDisability}},
		{"noneClears", "无", "", &models.RosterWaiver{Waiver: models.WaiverNone}},
		{"other", "half", "其它", &models.RosterWaiver{Waiver: models.WaiverHalf, Reason: models.WaiverOther}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			ss, err := models.ValidateRoster([]models.RosterRow{waiverRow("S1", "13912345678", c.waiver, c.reason)})
			if err != nil {
				t.Fatal(err)
			}
			if got := ss[0].Waiver; (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
				t.Fatalf("waiver = %+v, want %+v", got, c.want)
			}
		})
	}
	bad := []struct {
		name, waiver, reason, field string
	}{
		{"unknownWaiver", "打折", "dibao", "fee_waiver"},
		{"reasonWithoutWaiver", "", "dibao", "fee_waiver"},
		{"halfWithoutReason", "half", "", "waiver_reason"},
		{"unknownReason", "full", "家里穷", "waiver_reason"},
		{"noneWithReason", "none", "dibao", "waiver_reason"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := models.ValidateRoster([]models.RosterRow{goodRow(), waiverRow("S2", "13912345679", c.waiver, c.reason)})
			var ie *models.ImportError
			if !errors.As(err, &ie) || len(ie.Errors) != 1 || ie.Errors[0].Row != 2 || ie.Errors[0].Field != c.field ||
				ie.Errors[0].StudentNo != "S2" {
				t.Fatalf("err = %+v, want row 2 field %s", err, c.field)
			}
		})
	}
	t.Run("twoRowsOfOneStudent", func(t *testing.T) {
		ss, err := models.ValidateRoster([]models.RosterRow{waiverRow("S1", "13912345678", "", ""), waiverRow("S1", "13912345679", "全免", "低保")})
		if err != nil || ss[0].Waiver == nil || ss[0].Waiver.Waiver != models.WaiverFull {
			t.Fatalf("a waiver on the second row only = %+v, %v", ss, err)
		}
		_, err = models.ValidateRoster([]models.RosterRow{waiverRow("S1", "13912345678", "half", "dibao"), waiverRow("S1", "13912345679", "full", "dibao")})
		var ie *models.ImportError
		if !errors.As(err, &ie) || ie.Errors[0].Row != 2 || ie.Errors[0].Field != "fee_waiver" {
			t.Fatalf("two waivers for one student = %v, want row 2 fee_waiver", err)
		}
	})
}

// TestRosterWaiverHeader: the waiver columns are read under their Chinese
// names too, and an error in them is located at its cell.
func TestRosterWaiverHeader(t *testing.T) {
	var r models.RosterReader
	records := [][]string{
		{"学号", "姓名", "性别", "年级", "班级", "监护人姓名", "监护人手机号", "减免", "减免原因"},
		{"S1", "张小明", "男", "3", "2班", "张伟", "13912345678", "减半", "建档立卡"},
		{"S2", "李小红", "女", "3", "2班", "李娜", "13912345679", "打折", ""},
	}
	for i, rec := range records {
		cells := make([]string, r.Width())
		for col, v := range rec {
			if s := r.Slot(col); s >= 0 {
				cells[s] = v
			}
		}
		if err := r.Add(i+1, cells); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := r.Rows()
	if err != nil || rows[0].FeeWaiver != "减半" || rows[0].WaiverReason != "建档立卡" {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	_, err = models.ValidateRoster(rows)
	err = r.Locate(err)
	var ie *models.ImportError
	if !errors.As(err, &ie) || len(ie.Errors) != 1 || ie.Errors[0].Field != "fee_waiver" || ie.Errors[0].Column != "减免" ||
		ie.Errors[0].Cell != "H3" || ie.Errors[0].Row != 2 {
		t.Fatalf("err = %+v, want row 2, column 减免, cell H3", err)
	}
}

// TestImportRosterWaiver: the roster's waiver column sets waivers through
// the audited write (who, when, old, new; source roster), counts as an
// update, leaves a waiver alone where its cell is empty, and — like PATCH
// /students/{id} — applies to orders made after it, never to one made
// before.
func TestImportRosterWaiver(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	admin := w.admin.Actor()
	o := w.published(t, 300, nil)
	imp := func(rows ...models.RosterRow) models.RosterResult {
		t.Helper()
		res, err := models.ImportRoster(ctx, w.db, admin, w.school.ID, rows)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	student := func(no string) models.Student {
		t.Helper()
		var st models.Student
		if err := w.db.R.Where("school_id = ? AND student_no = ?", w.school.ID, no).Take(&st).Error; err != nil {
			t.Fatal(err)
		}
		return st
	}
	waiverOf := func(no string) (string, string) {
		var v struct{ FeeWaiver, WaiverReason string }
		w.db.R.Raw("SELECT fee_waiver, waiver_reason FROM students WHERE school_id = ? AND student_no = ?", w.school.ID, no).Scan(&v)
		return v.FeeWaiver, v.WaiverReason
	}

	// W1 is imported with a full waiver, W2 without the column's cells,
	// W3 enrolls (an order of 19 × 300) before its half waiver arrives.
	if res := imp(waiverRow("W1", "13900000001", "全免", "低保"), waiverRow("W2", "13900000002", "", ""),
		waiverRow("W3", "13900000003", "", "")); res.Created != 3 || res.Waivers != 1 {
		t.Fatalf("first import = %+v", res)
	}
	w3 := w.enroll(t, student("W3"), o)
	if w3.AmountFen == nil || *w3.AmountFen != 5700 {
		t.Fatalf("W3's order = %+v, want 5700", w3)
	}

	t.Run("setAndAudited", func(t *testing.T) {
		if wv, r := waiverOf("W1"); wv != models.WaiverFull || r != models.WaiverDibao {
			t.Fatalf("W1 waiver = %s %s", wv, r)
		}
		ch, err := models.FindWaiverChanges(ctx, w.db, student("W1").ID)
		if err != nil || len(ch) != 1 || ch[0].OldWaiver != models.WaiverNone || ch[0].NewWaiver != models.WaiverFull ||
			ch[0].NewReason != models.WaiverDibao || ch[0].Source != models.WaiverSourceRoster || ch[0].ChangedBy == nil ||
			*ch[0].ChangedBy != w.admin.ID || ch[0].ChangedAt.IsZero() {
			t.Fatalf("audit = %+v, %v", ch, err)
		}
		if ch, _ := models.FindWaiverChanges(ctx, w.db, student("W2").ID); len(ch) != 0 {
			t.Fatalf("W2 has no waiver cell, yet %+v", ch)
		}
	})
	t.Run("appliesToOrdersMadeAfter", func(t *testing.T) {
		e := w.enroll(t, student("W1"), o)
		if e.Status != models.StatusEnrolled || e.OrderID == nil || w.order(t, *e.OrderID).Status != models.OrderWaived {
			t.Fatalf("W1 enrolls = %+v, want enrolled with a waived order", e)
		}
	})
	t.Run("neverToAnOrderMadeBefore", func(t *testing.T) {
		if res := imp(waiverRow("W3", "13900000003", "减半", "建档立卡")); res.Updated != 1 || res.Waivers != 1 {
			t.Fatalf("W3's waiver = %+v, want 1 updated", res)
		}
		if v := w.order(t, *w3.OrderID); v.AmountFen != 5700 || v.WaiverFen != 0 || v.Status != models.OrderUnpaid {
			t.Fatalf("W3's order after the waiver = %+v", v.Order)
		}
	})
	t.Run("sameFileTwiceChangesNothing", func(t *testing.T) {
		if res := imp(waiverRow("W1", "13900000001", "full", "dibao")); res != (models.RosterResult{}) {
			t.Fatalf("same waiver again = %+v, want nothing", res)
		}
		if ch, _ := models.FindWaiverChanges(ctx, w.db, student("W1").ID); len(ch) != 1 {
			t.Fatalf("audit rows = %d, want 1", len(ch))
		}
	})
	t.Run("emptyCellLeavesIt", func(t *testing.T) {
		if res := imp(waiverRow("W1", "13900000001", "", "")); res != (models.RosterResult{}) {
			t.Fatalf("empty cell = %+v, want nothing", res)
		}
		if wv, _ := waiverOf("W1"); wv != models.WaiverFull {
			t.Fatalf("W1 waiver = %s, want full kept", wv)
		}
	})
	t.Run("noneClears", func(t *testing.T) {
		if res := imp(waiverRow("W1", "13900000001", "不减免", "")); res.Updated != 1 || res.Waivers != 1 {
			t.Fatalf("clear = %+v", res)
		}
		ch, _ := models.FindWaiverChanges(ctx, w.db, student("W1").ID)
		if wv, r := waiverOf("W1"); wv != models.WaiverNone || r != "" || len(ch) != 2 || ch[1].OldWaiver != models.WaiverFull {
			t.Fatalf("W1 = %s %q, audit %+v", wv, r, ch)
		}
	})
	t.Run("badCellWritesNothing", func(t *testing.T) {
		_, err := models.ImportRoster(ctx, w.db, admin, w.school.ID, []models.RosterRow{
			waiverRow("W2", "13900000002", "full", "dibao"), waiverRow("W4", "13900000004", "full", "")})
		var ie *models.ImportError
		if !errors.As(err, &ie) || ie.Errors[0].Row != 2 || ie.Errors[0].Field != "waiver_reason" {
			t.Fatalf("err = %v", err)
		}
		if wv, _ := waiverOf("W2"); wv != models.WaiverNone {
			t.Fatalf("W2 = %s after a refused import", wv)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}
