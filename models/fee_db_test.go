package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// feeWorld is a city with two counties, a school in each, a term whose
// calendar has National Day off, and the clock at 2026-09-01 10:00
// (Shanghai), before the term's first session.
type feeWorld struct {
	db                    *models.DB
	city, county, county2 models.Region
	school, school2       models.School
	admin, admin2         models.User
	term                  models.Term
	bureauCity            models.User
	bureauCounty          models.User
	now                   time.Time
}

func shanghaiTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func newFeeWorld(t testing.TB) *feeWorld {
	t.Helper()
	db := modelstest.MustOpenDB(t)
	w := &feeWorld{db: db, now: shanghaiTime(t, "2026-09-01T10:00:00+08:00")}
	db.Clock = func() time.Time { return w.now }
	prov := modelstest.Region(t, db, nil)
	w.city = modelstest.Region(t, db, &prov.ID)
	w.county = modelstest.Region(t, db, &w.city.ID)
	w.county2 = modelstest.Region(t, db, &w.city.ID)
	w.school = modelstest.School(t, db, w.county.ID)
	w.school2 = modelstest.School(t, db, w.county2.ID)
	w.admin = modelstest.Staff(t, db, models.RoleSchoolAdmin, w.school.ID, 0)
	w.admin2 = modelstest.Staff(t, db, models.RoleSchoolAdmin, w.school2.ID, 0)
	w.bureauCity = modelstest.Staff(t, db, models.RoleBureauAdmin, 0, w.city.ID)
	w.bureauCounty = modelstest.Staff(t, db, models.RoleBureauAdmin, 0, w.county.ID)
	w.term = modelstest.Term(t, db, w.admin, w.school.ID, 3)
	_, err := models.SetTermCalendar(context.Background(), db, w.admin.Actor(), w.school.ID, w.term.ID,
		models.TermCalendar{NoServiceDays: []string{"2026-10-05"}}, w.now)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func fen(n int64) *int64 { return &n }

func (w *feeWorld) policy(t *testing.T, by models.User, region int64, club *int64, rule string) {
	t.Helper()
	_, err := models.SetFeePolicy(context.Background(), w.db, by.Actor(), region, models.NewFeePolicy{ClubMaxFenPerSession: club, RefundRule: rule})
	if err != nil {
		t.Fatal(err)
	}
}

// mondayClub is a draft club meeting on Mondays at 16:30: 20 Mondays in
// the term, National Day (Monday 5 October) off, so 19 sessions.
func (w *feeWorld) mondayClub(t testing.TB, admin models.User, term models.Term, billing string, fee int64) models.Offering {
	t.Helper()
	opens, closes := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	o, err := models.CreateOffering(context.Background(), w.db, admin.Actor(), term.SchoolID, models.NewOffering{TermID: term.ID,
		Kind: models.KindClub, Name: "书法社", Weekdays: []int{1}, StartTime: "16:30", EndTime: "18:00", Capacity: 30,
		Grades: []int{3, 4}, FeeFen: fee, Billing: billing, EnrollOpensAt: &opens, EnrollClosesAt: &closes})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestFeePolicyInheritedAndOverridden(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	w.policy(t, w.bureauCity, w.city.ID, fen(300), "")

	t.Run("inherited", func(t *testing.T) {
		p, err := models.FindFeePolicy(ctx, w.db, w.admin.Actor(), w.county.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.RegionID != w.city.ID || *p.ClubMaxFenPerSession != 300 || p.RefundRule != models.RefundProRata || p.HoldMinutes != models.DefaultHoldMinutes {
			t.Fatalf("policy = %+v, want the city's", p)
		}
	})
	t.Run("county below the cap of its city is refused at publish", func(t *testing.T) {
		o := w.mondayClub(t, w.admin2, modelstest.Term(t, w.db, w.admin2, w.school2.ID, 3), models.BillingSession, 400)
		_, err := models.PublishOffering(ctx, w.db, w.admin2.Actor(), o.ID)
		if !errors.Is(err, models.ErrFeeOverCap) || !strings.Contains(err.Error(), w.city.Name) || !strings.Contains(err.Error(), "3.00") {
			t.Fatalf("publish = %v, want fee_over_cap naming %s and 3.00", err, w.city.Name)
		}
	})
	w.policy(t, w.bureauCounty, w.county.ID, fen(500), models.RefundNoneAfterStart)
	t.Run("nearest wins", func(t *testing.T) {
		p, err := models.FindFeePolicy(ctx, w.db, w.admin.Actor(), w.county.ID)
		if err != nil || p.RegionID != w.county.ID || *p.ClubMaxFenPerSession != 500 {
			t.Fatalf("policy = %+v, %v; want the county's own", p, err)
		}
		o := w.mondayClub(t, w.admin, w.term, models.BillingSession, 400)
		if _, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), o.ID); err != nil {
			t.Fatalf("400 under the county's 500: %v", err)
		}
	})
	t.Run("term billing over the cap per session", func(t *testing.T) {
		// 9501 fen over 19 sessions is 500.05 a session: over 500.
		o := w.mondayClub(t, w.admin, w.term, models.BillingTerm, 9501)
		_, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), o.ID)
		if !errors.Is(err, models.ErrFeeOverCap) || !strings.Contains(err.Error(), w.county.Name) || !strings.Contains(err.Error(), "5.01") {
			t.Fatalf("publish = %v, want fee_over_cap 5.01 over %s's 5.00", err, w.county.Name)
		}
		o = w.mondayClub(t, w.admin, w.term, models.BillingTerm, 9500)
		if _, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), o.ID); err != nil {
			t.Fatalf("9500 over 19 sessions is 5.00: %v", err)
		}
	})
	t.Run("raising a published fee over the cap", func(t *testing.T) {
		o := w.mondayClub(t, w.admin, w.term, models.BillingSession, 300)
		if _, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), o.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := models.PatchOffering(ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{FeeFen: fen(501)}); !errors.Is(err, models.ErrFeeOverCap) {
			t.Fatalf("raise to 501 = %v, want fee_over_cap", err)
		}
		if _, err := models.PatchOffering(ctx, w.db, w.admin.Actor(), o.ID, models.UpdateOffering{FeeFen: fen(500)}); err != nil {
			t.Fatalf("raise to 500: %v", err)
		}
	})
	t.Run("a county's bureau cannot set its city's policy", func(t *testing.T) {
		_, err := models.SetFeePolicy(ctx, w.db, w.bureauCounty.Actor(), w.city.ID, models.NewFeePolicy{})
		if !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("set = %v, want not_found", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		_, err := models.SetFeePolicy(ctx, w.db, w.bureauCounty.Actor(), w.county.ID, models.NewFeePolicy{RefundRule: "never", ClubMaxFenPerSession: fen(-1)})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["refund_rule"] == "" || ve.Fields["club_max_fen_per_session"] == "" {
			t.Fatalf("set = %v, want refund_rule and club cap errors", err)
		}
	})
}

// paidSeat publishes club o, enrolls a grade-3 student in it and bills the
// seat at w.now.
func (w *feeWorld) paidSeat(t *testing.T, o models.Offering, waiver string) (models.Student, models.Order) {
	t.Helper()
	ctx := context.Background()
	if o.Status == models.OfferingDraft {
		var err error
		if o, err = models.PublishOffering(ctx, w.db, w.admin.Actor(), o.ID); err != nil {
			t.Fatal(err)
		}
	}
	st := modelstest.Student(t, w.db, o.SchoolID, 3, "")
	if waiver != models.WaiverNone {
		if _, err := models.SetStudentWaiver(ctx, w.db, w.admin.Actor(), st.ID, waiver, models.WaiverDibao); err != nil {
			t.Fatal(err)
		}
	}
	e, err := models.Enroll(ctx, w.db, models.NewEnrollment{Actor: w.admin.Actor(), StudentID: st.ID, OfferingID: o.ID, Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	if e.OrderID == nil {
		t.Fatalf("enrollment %+v has no order", e)
	}
	return st, w.order(t, *e.OrderID).Order
}

func (w *feeWorld) order(t *testing.T, id int64) models.OrderView {
	t.Helper()
	v, err := models.FindOrderFor(context.Background(), w.db, w.admin.Actor(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOrderPaymentsAndRefunds(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	o := w.mondayClub(t, w.admin, w.term, models.BillingSession, 300)
	_, ord := w.paidSeat(t, o, models.WaiverNone)
	if ord.Sessions != 19 || ord.GrossFen != 5700 || ord.AmountFen != 5700 || ord.Status != models.OrderUnpaid {
		t.Fatalf("order = %+v, want 19 sessions, 5700 fen, unpaid", ord)
	}
	pay := models.NewPayment{Method: models.PayBank, Ref: "BANK-0001", PaidAt: w.now}
	e, err := models.FindEnrollmentByID(ctx, w.db, ord.EnrollmentID)
	if err != nil || e.Status != models.StatusPendingPayment || e.HoldExpiresAt == nil ||
		!e.HoldExpiresAt.Equal(w.now.Add(time.Duration(models.DefaultHoldMinutes)*time.Minute)) {
		t.Fatalf("seat = %+v, %v; want held until now + the default hold", e, err)
	}
	v, err := models.RecordPayment(ctx, w.db, w.admin.Actor(), ord.ID, pay)
	if err != nil || v.Status != models.OrderPaid || v.Sums.Payment != 5700 {
		t.Fatalf("pay = %+v, %v; want paid 5700", v.Sums, err)
	}
	e, err = models.FindEnrollmentByID(ctx, w.db, ord.EnrollmentID)
	if err != nil || e.Status != models.StatusEnrolled || e.EnrolledAt == nil || !e.EnrolledAt.Equal(w.now) {
		t.Fatalf("seat after payment = %+v, %v; want enrolled at the payment", e, err)
	}
	t.Run("retry moves nothing", func(t *testing.T) {
		v, err := models.RecordPayment(ctx, w.db, w.admin.Actor(), ord.ID, pay)
		if err != nil || v.Sums.Payment != 5700 {
			t.Fatalf("retry = %+v, %v; want one payment of 5700", v.Sums, err)
		}
	})
	t.Run("nothing owed", func(t *testing.T) {
		_, err := models.RecordPayment(ctx, w.db, w.admin.Actor(), ord.ID, models.NewPayment{Method: models.PayCash, Ref: "R2", PaidAt: w.now})
		if !errors.Is(err, models.ErrNothingOwed) {
			t.Fatalf("second payment = %v, want nothing_owed", err)
		}
	})
	t.Run("another school's admin", func(t *testing.T) {
		_, err := models.RecordPayment(ctx, w.db, w.admin2.Actor(), ord.ID, pay)
		if !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("pay = %v, want not_found", err)
		}
	})
	t.Run("refund by hand", func(t *testing.T) {
		v, err := models.RefundOrder(ctx, w.db, w.admin.Actor(), ord.ID, models.NewRefund{AmountFen: 100, Reason: "多收", Key: "k1"})
		if err != nil || v.Status != models.OrderPartiallyRefunded || v.Sums.Refund != 100 {
			t.Fatalf("refund = %+v %s, %v", v.Sums, v.Status, err)
		}
		v, err = models.RefundOrder(ctx, w.db, w.admin.Actor(), ord.ID, models.NewRefund{AmountFen: 100, Reason: "多收", Key: "k1"})
		if err != nil || v.Sums.Refund != 100 {
			t.Fatalf("same key again = %+v, %v; want still 100", v.Sums, err)
		}
		_, err = models.RefundOrder(ctx, w.db, w.admin.Actor(), ord.ID, models.NewRefund{AmountFen: 5601, Reason: "全退"})
		if !errors.Is(err, models.ErrRefundAbovePaid) || !strings.Contains(err.Error(), "56.00") {
			t.Fatalf("refund 5601 of 5600 left = %v, want refund_above_paid naming 56.00", err)
		}
	})
	t.Run("a cancelled session is refunded", func(t *testing.T) {
		var sid int64
		if err := w.db.R.Raw("SELECT id FROM sessions WHERE offering_id = ? AND session_date = ?", o.ID, "2026-09-14").Scan(&sid).Error; err != nil || sid == 0 {
			t.Fatalf("session of 14 September: %d, %v", sid, err)
		}
		if _, err := models.CancelSession(ctx, w.db, w.admin.Actor(), sid, "台风", w.now); err != nil {
			t.Fatal(err)
		}
		// 5700 paid over 19 sessions: 300 back.
		if v := w.order(t, ord.ID); v.Sums.Refund != 400 {
			t.Fatalf("refunded %d, want 100 + 300", v.Sums.Refund)
		}
	})
	t.Run("withdrawn pro rata", func(t *testing.T) {
		// Monday 21 September 17:00: the 7th and the 21st were held (the
		// 14th was cancelled), 16 of the 19 billed sessions were not:
		// 5700 × 16/19 = 4800.
		w.now = shanghaiTime(t, "2026-09-21T17:00:00+08:00")
		if _, err := models.Withdraw(ctx, w.db, w.admin.Actor(), ord.EnrollmentID); err != nil {
			t.Fatal(err)
		}
		v := w.order(t, ord.ID)
		if v.Sums.Refund != 5200 || v.Status != models.OrderPartiallyRefunded {
			t.Fatalf("refunded %d (%s), want 400 + 4800, partially_refunded", v.Sums.Refund, v.Status)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

func TestRefundRulesOnWithdrawal(t *testing.T) {
	for _, c := range []struct {
		rule string
		now  string
		want int64
	}{
		// 19 Mondays × 300 = 5700 paid.
		{models.RefundProRata, "2026-09-01T12:00:00+08:00", 5700},
		{models.RefundNoneAfterStart, "2026-09-01T12:00:00+08:00", 5700},
		{models.RefundNoneAfterStart, "2026-09-07T16:30:00+08:00", 0},
		{models.RefundFullBeforeStart, "2026-09-01T12:00:00+08:00", 5700},
		// 7 September held, September (4 Mondays) under way: October on,
		// 15 of 19 sessions, 4500 back.
		{models.RefundFullBeforeStart, "2026-09-07T17:00:00+08:00", 4500},
		{models.RefundProRata, "2026-09-07T17:00:00+08:00", 5400},
	} {
		t.Run(c.rule+"/"+c.now[:10], func(t *testing.T) {
			w := newFeeWorld(t)
			w.policy(t, w.bureauCounty, w.county.ID, nil, c.rule)
			_, ord := w.paidSeat(t, w.mondayClub(t, w.admin, w.term, models.BillingSession, 300), models.WaiverNone)
			if _, err := models.RecordPayment(context.Background(), w.db, w.admin.Actor(), ord.ID,
				models.NewPayment{Method: models.PayCash, Ref: "C1", PaidAt: w.now}); err != nil {
				t.Fatal(err)
			}
			w.now = shanghaiTime(t, c.now)
			if _, err := models.Withdraw(context.Background(), w.db, w.admin.Actor(), ord.EnrollmentID); err != nil {
				t.Fatal(err)
			}
			if v := w.order(t, ord.ID); v.Sums.Refund != c.want {
				t.Fatalf("refund = %d, want %d", v.Sums.Refund, c.want)
			}
			modelstest.CheckInvariants(t, w.db)
		})
	}
}

func TestWaivers(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	o, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), w.mondayClub(t, w.admin, w.term, models.BillingTerm, 9501).ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("half", func(t *testing.T) {
		_, ord := w.paidSeat(t, o, models.WaiverHalf)
		// 9501 halved: the family pays 4750, 4751 is waived.
		if ord.WaiverFen != 4751 || ord.AmountFen != 4750 || ord.Status != models.OrderUnpaid {
			t.Fatalf("order = %+v", ord)
		}
	})
	t.Run("full enrolls with nothing to pay", func(t *testing.T) {
		_, ord := w.paidSeat(t, o, models.WaiverFull)
		if ord.AmountFen != 0 || ord.Status != models.OrderWaived {
			t.Fatalf("order = %+v, want waived", ord)
		}
	})
	t.Run("never retroactive", func(t *testing.T) {
		st, ord := w.paidSeat(t, o, models.WaiverNone)
		if _, err := models.SetStudentWaiver(ctx, w.db, w.admin.Actor(), st.ID, models.WaiverFull, models.WaiverPovertyRegistered); err != nil {
			t.Fatal(err)
		}
		if v := w.order(t, ord.ID); v.AmountFen != 9501 || v.Status != models.OrderUnpaid {
			t.Fatalf("order after the waiver = %+v", v.Order)
		}
		changes, err := models.FindWaiverChanges(ctx, w.db, st.ID)
		if err != nil || len(changes) != 1 || changes[0].OldWaiver != models.WaiverNone || changes[0].NewWaiver != models.WaiverFull ||
			changes[0].ChangedBy == nil || *changes[0].ChangedBy != w.admin.ID {
			t.Fatalf("audit = %+v, %v", changes, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		st := modelstest.Student(t, w.db, w.school.ID, 3, "")
		teacher := modelstest.Staff(t, w.db, models.RoleTeacher, w.school.ID, 0)
		if _, err := models.SetStudentWaiver(ctx, w.db, teacher.Actor(), st.ID, models.WaiverHalf, models.WaiverDibao); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("teacher = %v, want forbidden", err)
		}
		if _, err := models.SetStudentWaiver(ctx, w.db, w.admin2.Actor(), st.ID, models.WaiverHalf, models.WaiverDibao); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other school = %v, want not_found", err)
		}
		_, err := models.SetStudentWaiver(ctx, w.db, w.admin.Actor(), st.ID, models.WaiverHalf, "")
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["waiver_reason"] == "" {
			t.Fatalf("no reason = %v, want waiver_reason", err)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

func TestUnpaidSeats(t *testing.T) {
	w := newFeeWorld(t)
	ctx := context.Background()
	o, err := models.PublishOffering(ctx, w.db, w.admin.Actor(), w.mondayClub(t, w.admin, w.term, models.BillingMonth, 2000).ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("month billing", func(t *testing.T) {
		_, ord := w.paidSeat(t, o, models.WaiverNone)
		// Mondays from September to January: five months.
		if ord.GrossFen != 10000 {
			t.Fatalf("gross = %d, want 5 × 2000", ord.GrossFen)
		}
		if _, err := models.Withdraw(ctx, w.db, w.admin.Actor(), ord.EnrollmentID); err != nil {
			t.Fatal(err)
		}
		if v := w.order(t, ord.ID); v.Status != models.OrderClosed || v.Sums.Void != 10000 {
			t.Fatalf("withdrawn unpaid = %s %+v, want closed", v.Status, v.Sums)
		}
	})
	t.Run("a cancelled session is credited", func(t *testing.T) {
		_, ord := w.paidSeat(t, o, models.WaiverNone)
		var sid int64
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(w.db.R.Raw("SELECT id FROM sessions WHERE offering_id = ? AND session_date = ?", ord.OfferingID, "2026-11-02").Scan(&sid).Error)
		_, err := models.CancelSession(ctx, w.db, w.admin.Actor(), sid, "考试", w.now)
		must(err)
		// 10000 over 19 sessions is 526.3: 527 credited.
		if v := w.order(t, ord.ID); v.Sums.Credit != 527 || v.Status != models.OrderUnpaid {
			t.Fatalf("credited %d (%s), want 527", v.Sums.Credit, v.Status)
		}
	})
	t.Run("cancelled offering", func(t *testing.T) {
		w.policy(t, w.bureauCounty, w.county.ID, nil, models.RefundNoneAfterStart)
		o2 := w.mondayClub(t, w.admin, w.term, models.BillingSession, 100)
		_, ord := w.paidSeat(t, o2, models.WaiverNone)
		_, err := models.RecordPayment(ctx, w.db, w.admin.Actor(), ord.ID, models.NewPayment{Method: models.PayPlatform, Ref: "GOV-9", PaidAt: w.now})
		if err != nil {
			t.Fatal(err)
		}
		// After two sessions, the school cancels: 17 of 19 come back,
		// whatever the county's rule.
		w.now = shanghaiTime(t, "2026-09-14T18:00:00+08:00")
		if _, err := models.CancelOffering(ctx, w.db, w.admin.Actor(), o2.ID, ""); err != nil {
			t.Fatal(err)
		}
		if v := w.order(t, ord.ID); v.Sums.Refund != 1700 {
			t.Fatalf("refund = %d, want 1700", v.Sums.Refund)
		}
	})
	modelstest.CheckInvariants(t, w.db)
}

func TestMoneyInvariantsCatchABrokenLedger(t *testing.T) {
	w := newFeeWorld(t)
	_, ord := w.paidSeat(t, w.mondayClub(t, w.admin, w.term, models.BillingSession, 300), models.WaiverNone)
	count := func() int64 {
		var total int64
		for _, q := range models.Invariants {
			if !strings.Contains(q.Name, "order") && !strings.Contains(q.Name, "owing") {
				continue
			}
			var n int64
			if err := w.db.R.Raw(q.SQL).Scan(&n).Error; err != nil {
				t.Fatalf("%s: %v", q.Name, err)
			}
			total += n
		}
		return total
	}
	if n := count(); n != 0 {
		t.Fatalf("%d violations before", n)
	}
	// A status written past the ledger: paid with nothing paid.
	if err := w.db.W.Exec("UPDATE orders SET status = 'paid' WHERE id = ?", ord.ID).Error; err != nil {
		t.Fatal(err)
	}
	// The ledger says unpaid; a paid order's seat is still held; a held
	// seat's order is not unpaid.
	if n := count(); n != 3 {
		t.Fatalf("%d violations, want 3", n)
	}
}
