package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kehou/models"
)

// The demo county is a paying county (docs/fees.md): the city sets a fee
// policy (caps per session, a 30-minute hold, pro rata refunds) and the
// demo county its own with a two-day hold; the first school runs a priced
// club whose history has every kind of order — paid, unpaid (held), waived
// in full and by half, refunded after a withdrawal and by hand — so the finance figures on the bureau and school pages have
// something to show. The free clubs of the rest of the demo stay free.

// demoFeeClub is the name of the demo's priced club (its presence means the
// fees were seeded: the seed is idempotent).
const demoFeeClub = "少儿编程（收费）"

// seedDemoFees adds the fee policies and the priced club's orders to the
// demo built by loadDemo, unless they are there.
func seedDemoFees(ctx context.Context, db *models.DB, sum demoSummary, now time.Time) error {
	if len(sum.Schools) == 0 || sum.County.ParentID == nil {
		return nil
	}
	school := sum.Schools[0]
	offs, err := models.FindOfferings(ctx, db, models.SystemActor, school.ID, models.OfferingFilter{})
	if err != nil {
		return err
	}
	var term int64
	for _, o := range offs {
		if o.Name == demoFeeClub {
			return nil
		}
		term = max(term, o.TermID)
	}
	if term == 0 {
		return nil
	}
	// The platform's staff account does the school's work, so every
	// enrollment, payment and refund names a real user.
	u, err := models.FindUserByUsername(ctx, db, "demo_platform")
	if err != nil {
		return err
	}
	staff := u.Actor()
	basicCap, clubCap, hold, twoDays := int64(300), int64(1000), 30, 2*24*60
	if _, err := models.SetFeePolicy(ctx, db, models.SystemActor, *sum.County.ParentID, models.NewFeePolicy{
		BasicMaxFenPerSession: &basicCap, ClubMaxFenPerSession: &clubCap, HoldMinutes: &hold, RefundRule: models.RefundProRata}); err != nil {
		return fmt.Errorf("city fee policy: %w", err)
	}
	if _, err := models.SetFeePolicy(ctx, db, models.SystemActor, sum.County.ID, models.NewFeePolicy{
		BasicMaxFenPerSession: &basicCap, ClubMaxFenPerSession: &clubCap, HoldMinutes: &twoDays, RefundRule: models.RefundProRata}); err != nil {
		return fmt.Errorf("county fee policy: %w", err)
	}
	// The demo teacher takes the roll of every club of the first school
	// (seedDemoTeacher), this one too.
	var teacher *int64
	if t, err := models.FindUserByUsername(ctx, db, "demo_teacher"); err == nil {
		teacher = &t.ID
	}
	opens, closes := now.Add(-time.Hour), now.AddDate(0, 0, 14)
	waitlist := true
	o, err := models.CreateOffering(ctx, db, models.SystemActor, school.ID, models.NewOffering{TermID: term, Kind: models.KindClub,
		Name: demoFeeClub, Category: "science", Teacher: "周老师", TeacherUserID: teacher, Venue: "机房", Weekdays: []int{3}, StartTime: "18:10",
		EndTime: "19:00", Capacity: 12, Grades: []int{3, 4, 5, 6}, FeeFen: 600, Billing: models.BillingSession,
		Waitlist: &waitlist, EnrollOpensAt: &opens, EnrollClosesAt: &closes})
	if err != nil {
		return fmt.Errorf("priced club: %w", err)
	}
	if o, err = models.PublishOffering(ctx, db, models.SystemActor, o.ID); err != nil {
		return fmt.Errorf("priced club: %w", err)
	}
	var students []int64
	if err := db.R.WithContext(ctx).Raw("SELECT id FROM students WHERE school_id = ? AND grade >= 3 AND active = ? ORDER BY id LIMIT 60",
		school.ID, true).Scan(&students).Error; err != nil {
		return err
	}
	// What happens to the seats, in order: a waiver is set first where
	// there is one; "pay" is paid at the bank, "refund" paid and then
	// withdrawn, "hand" paid and refunded in part by hand; the rest stay
	// held, unpaid, for the county's two days.
	plan := []struct{ waiver, then string }{
		{models.WaiverNone, "pay"}, {models.WaiverNone, "pay"}, {models.WaiverNone, "pay"}, {models.WaiverNone, "pay"},
		{models.WaiverHalf, "pay"}, {models.WaiverFull, ""}, {models.WaiverNone, ""}, {models.WaiverNone, ""},
		{models.WaiverNone, "refund"}, {models.WaiverNone, "hand"}, {models.WaiverHalf, ""},
	}
	next := 0
	for _, sid := range students {
		if next == len(plan) {
			break
		}
		p := plan[next]
		if p.waiver != models.WaiverNone {
			if _, err := models.SetStudentWaiver(ctx, db, staff, sid, p.waiver, models.WaiverDibao); err != nil {
				return err
			}
		}
		e, err := models.Enroll(ctx, db, models.NewEnrollment{Actor: staff, StudentID: sid, OfferingID: o.ID, Now: now})
		if demoRefusal(err) {
			if p.waiver != models.WaiverNone { // the waiver stays with a child who did not enroll: undo it
				if _, err := models.SetStudentWaiver(ctx, db, staff, sid, models.WaiverNone, ""); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("priced club, student %d: %w", sid, err)
		}
		next++
		if e.OrderID == nil || p.then == "" {
			continue
		}
		// Paid "now", or by the real clock when the demo is built around a
		// later day (a payment cannot be dated in the future).
		paid := now
		if real := time.Now(); paid.After(real) {
			paid = real
		}
		if _, err := models.RecordPayment(ctx, db, staff, *e.OrderID, models.NewPayment{Method: models.PayBank,
			Ref: fmt.Sprintf("DEMO-%d", e.ID), PaidAt: paid}); err != nil && !errors.Is(err, models.ErrNothingOwed) {
			return fmt.Errorf("priced club, payment: %w", err)
		}
		switch p.then {
		case "refund":
			if _, err := models.Withdraw(ctx, db, staff, e.ID); err != nil {
				return err
			}
		case "hand":
			if _, err := models.RefundOrder(ctx, db, staff, *e.OrderID, models.NewRefund{AmountFen: 600,
				Reason: "缴费时多付，退还差额", Key: fmt.Sprintf("demo-%d", e.ID)}); err != nil {
				return err
			}
		}
	}
	return nil
}
