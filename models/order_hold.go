package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The payment hold (SPEC "Fees and payment"). A seat taken — at once in
// the enrollment batch, by promotion from the waitlist, or in the draw —
// in an offering whose amount for that student is above zero becomes
// pending_payment with an order: live (capacity, rules 5 and 6 count it),
// on the roll only once paid. A payment makes it enrolled (RecordPayment);
// a hold past hold_expires_at is released by the holds job
// (ReleaseExpiredHolds): withdrawn as unpaid, its bill voided, the seat to
// the waitlist head, who gets a hold of its own. A free seat, or one
// waived in full, is enrolled at once (a waived seat still has an order,
// so the waiver is counted).

// ErrHoldExpired answers a payment of a seat whose hold was released first.
var ErrHoldExpired = E(KindConflict, "hold_expired", "名额保留已过期，该报名已因未缴费退出")

// heldSeat is a seat the batch priced: its offering, its bill and the
// student's waiver.
type heldSeat struct {
	member int // index into the batch
	o      Offering
	bill   Bill
	waiver string
}

// priceBatch prices the seats the batch gave (enrolled, in a priced
// offering) before they are written, inside tx: an amount above zero makes
// the seat pending_payment with its expiry (res[i].e changed in place, so
// the confirmation and the Idempotency-Key answer say so). It returns the
// seats that need an order once the enrollments exist (openBatchOrders).
// Free offerings cost nothing here: the cached fee is the filter, and a
// priced offering is read again fresh. A few statements per batch, not per
// seat: each priced offering's calendar and each school's policy are read
// once, the students' waivers together.
func priceBatch(tx *gorm.DB, jobs []*enrollJob, taken []int, res []enrollResult) ([]heldSeat, error) {
	var out []heldSeat
	var priced []int64
	for _, i := range taken {
		if res[i].e.Status == StatusEnrolled && jobs[i].o.FeeFen != 0 {
			priced = append(priced, res[i].e.OfferingID)
		}
	}
	if len(priced) == 0 {
		return nil, nil
	}
	offerings, dates, err := batchCalendars(tx, priced)
	if err != nil {
		return nil, err
	}
	holds := map[int64]int{}
	var students []int64
	for _, i := range taken {
		e := &res[i].e
		if e.Status != StatusEnrolled || jobs[i].o.FeeFen == 0 {
			continue
		}
		o := offerings[e.OfferingID]
		if o.FeeFen == 0 {
			continue
		}
		b := ComputeBill(o.Billing, o.FeeFen, dates[o.ID], shanghaiDate(jobs[i].now))
		if b.GrossFen == 0 {
			continue
		}
		out = append(out, heldSeat{member: i, o: o, bill: b})
		students = append(students, e.StudentID)
	}
	if len(out) == 0 {
		return nil, nil
	}
	var waivers []struct {
		ID        int64
		FeeWaiver string
	}
	if err := tx.Raw("SELECT id, fee_waiver FROM students WHERE id IN ?", students).Scan(&waivers).Error; err != nil {
		return nil, err
	}
	waiverOfStudent := make(map[int64]string, len(waivers))
	for _, w := range waivers {
		waiverOfStudent[w.ID] = w.FeeWaiver
	}
	for k := range out {
		s := &out[k]
		e := &res[s.member].e
		s.waiver = waiverOfStudent[e.StudentID]
		amount := s.bill.GrossFen - WaiverFen(s.waiver, s.bill.GrossFen)
		e.AmountFen = &amount
		if amount == 0 {
			continue // waived in full: enrolled at once
		}
		minutes, ok := holds[s.o.SchoolID]
		if !ok {
			p, err := effectivePolicy(tx, s.o.SchoolID)
			if err != nil {
				return nil, err
			}
			minutes = p.HoldMinutes
			holds[s.o.SchoolID] = minutes
		}
		// The request's clock, as every rule of the batch.
		exp := jobs[s.member].now.Add(time.Duration(minutes) * time.Minute).UTC()
		e.Status, e.HoldExpiresAt = StatusPendingPayment, &exp
	}
	return out, nil
}

// batchCalendars reads the priced offerings of a batch, fresh, with each
// one's billable dates (billableDates), in three statements whatever their
// number: the offerings, their terms, their cancelled sessions.
func batchCalendars(tx *gorm.DB, ids []int64) (map[int64]Offering, map[int64][]string, error) {
	var offs []Offering
	if err := tx.Where("id IN ?", ids).Find(&offs).Error; err != nil {
		return nil, nil, err
	}
	termIDs := make([]int64, 0, len(offs))
	for _, o := range offs {
		termIDs = append(termIDs, o.TermID)
	}
	var terms []Term
	if err := tx.Where("id IN ?", termIDs).Find(&terms).Error; err != nil {
		return nil, nil, err
	}
	termOf := make(map[int64]Term, len(terms))
	for _, t := range terms {
		termOf[t.ID] = t
	}
	var cancelled []struct {
		OfferingID  int64
		SessionDate string
	}
	if err := tx.Raw("SELECT offering_id, session_date FROM sessions WHERE offering_id IN ? AND status = ?", ids, SessionCancelled).
		Scan(&cancelled).Error; err != nil {
		return nil, nil, err
	}
	skip := map[int64]map[string]bool{}
	for _, c := range cancelled {
		if skip[c.OfferingID] == nil {
			skip[c.OfferingID] = map[string]bool{}
		}
		skip[c.OfferingID][c.SessionDate] = true
	}
	byID := make(map[int64]Offering, len(offs))
	dates := make(map[int64][]string, len(offs))
	for _, o := range offs {
		if o.Billing == "" {
			o.Billing = BillingTerm
		}
		byID[o.ID] = o
		t := termOf[o.TermID]
		for _, td := range TeachingDates(t.StartsOn, t.EndsOn, t.NoService(), t.Extra(), o.Weekdays) {
			if !skip[o.ID][td.Date] {
				dates[o.ID] = append(dates[o.ID], td.Date)
			}
		}
	}
	return byID, dates, nil
}

// openBatchOrders opens the orders of the seats priceBatch priced, inside
// tx, once their enrollments are written: the orders in one insert, their
// charge and waiver rows in another, and the held seats' held_at and
// hold_expires_at in one update.
func openBatchOrders(tx *gorm.DB, jobs []*enrollJob, seats []heldSeat, res []enrollResult) error {
	if len(seats) == 0 {
		return nil
	}
	orders := make([]Order, len(seats))
	for k, s := range seats {
		e := res[s.member].e
		now := jobs[s.member].now.UTC()
		ord := Order{SchoolID: s.o.SchoolID, TermID: s.o.TermID, OfferingID: s.o.ID, StudentID: e.StudentID, EnrollmentID: e.ID,
			Billing: s.bill.Billing, UnitFen: s.bill.UnitFen, Sessions: s.bill.Sessions, BillsFrom: shanghaiDate(now),
			GrossFen: s.bill.GrossFen, Waiver: s.waiver, WaiverFen: WaiverFen(s.waiver, s.bill.GrossFen), CreatedAt: now, UpdatedAt: now}
		if len(s.bill.Dates) > 0 {
			ord.BillsFrom = s.bill.Dates[0]
		}
		ord.AmountFen = ord.GrossFen - ord.WaiverFen
		ord.Status = DeriveOrderStatus(LedgerSums{Charge: ord.GrossFen, Waiver: ord.WaiverFen})
		orders[k] = ord
	}
	if err := tx.CreateInBatches(&orders, maxGroup).Error; err != nil {
		return err
	}
	var moves []LedgerEntry
	var heldSQL strings.Builder
	var heldArgs []any
	var heldIDs []int64
	// A parameter in a CASE has no type of its own: PostgreSQL is told it
	// is a timestamp; SQLite stores what it is given, as the other writes.
	then := " WHEN ? THEN ?"
	if dialectOf(tx) == Postgres {
		then = " WHEN ? THEN CAST(? AS TIMESTAMPTZ)"
	}
	for k, s := range seats {
		e := &res[s.member].e
		ord := orders[k]
		e.OrderID, e.AmountFen = &orders[k].ID, &orders[k].AmountFen
		moves = append(moves, LedgerEntry{OrderID: ord.ID, SchoolID: ord.SchoolID, Kind: LedgerCharge, AmountFen: ord.GrossFen,
			ExternalID: fmt.Sprintf("charge:enrollment:%d", e.ID), OccurredAt: ord.CreatedAt, CreatedAt: ord.CreatedAt})
		if ord.WaiverFen > 0 {
			moves = append(moves, LedgerEntry{OrderID: ord.ID, SchoolID: ord.SchoolID, Kind: LedgerWaiver, AmountFen: ord.WaiverFen,
				Reason: ord.Waiver, ExternalID: fmt.Sprintf("waiver:enrollment:%d", e.ID), OccurredAt: ord.CreatedAt, CreatedAt: ord.CreatedAt})
		}
		if e.Status == StatusPendingPayment {
			held := ord.CreatedAt
			e.HeldAt = &held
			heldSQL.WriteString(then)
			heldArgs = append(heldArgs, e.ID, *e.HoldExpiresAt)
			heldIDs = append(heldIDs, e.ID)
		}
	}
	if err := tx.CreateInBatches(&moves, 2*maxGroup).Error; err != nil {
		return err
	}
	if len(heldIDs) == 0 {
		return nil
	}
	// held_at is the seat's creation; hold_expires_at each seat's own.
	heldArgs = append(heldArgs, heldIDs)
	return tx.Exec("UPDATE enrollments SET held_at = created_at, hold_expires_at = CASE id"+heldSQL.String()+" END WHERE id IN ?",
		heldArgs...).Error
}

// holdSeat bills the seat of enrollment e in o, just made enrolled (a
// promotion, a draw), inside tx: with an amount above zero it becomes
// pending_payment until now + the hold. It answers whether the seat is
// held (false: free, or waived in full — enrolled).
func holdSeat(tx *gorm.DB, e *Enrollment, o Offering, now time.Time) (bool, error) {
	ord, made, err := openOrder(tx, *e, o, now)
	if err != nil || !made {
		return false, err
	}
	e.OrderID, e.AmountFen = &ord.ID, &ord.AmountFen
	if ord.AmountFen == 0 {
		return false, nil
	}
	p, err := effectivePolicy(tx, o.SchoolID)
	if err != nil {
		return false, err
	}
	held := now.UTC()
	exp := held.Add(time.Duration(p.HoldMinutes) * time.Minute)
	if err := tx.Exec(`UPDATE enrollments SET status = ?, held_at = ?, hold_expires_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
		StatusPendingPayment, held, exp, held, e.ID, StatusEnrolled).Error; err != nil {
		return false, err
	}
	e.Status, e.HeldAt, e.HoldExpiresAt = StatusPendingPayment, &held, &exp
	return true, nil
}

// holdNote is the line a held family reads: pay before the hold ends.
func holdNote(e Enrollment) string {
	if e.HoldExpiresAt == nil || e.AmountFen == nil {
		return ""
	}
	// The note fits a thing field (20 characters) as written, the amount
	// dropped before the deadline is; the inbox has it all (holdDetail).
	until, amount := e.HoldExpiresAt.In(Zone).Format("01-02 15:04"), strings.TrimSuffix(Yuan(*e.AmountFen), ".00")
	return fitNote(fitNote(fmt.Sprintf("请于%s前缴费%s元", until, amount), fmt.Sprintf("%s前缴费%s元", until, amount)),
		fmt.Sprintf("请于%s前缴费", until))
}

// holdDetail is the full text of a held seat's note, for the inbox.
func holdDetail(e Enrollment) string {
	if e.HoldExpiresAt == nil || e.AmountFen == nil {
		return ""
	}
	return fmt.Sprintf("名额保留至%s，请缴费%s元", e.HoldExpiresAt.In(Zone).Format("01-02 15:04"), Yuan(*e.AmountFen))
}

// paySeat makes the held seat of order ord enrolled once nothing is owed,
// inside tx (which holds the order's lock): enrolled_at is the payment's
// time, so the roll counts the child from then and no later write moves
// it. A seat no longer held — released as unpaid meanwhile — is
// ErrHoldExpired, and the caller's transaction (the payment) rolls back:
// of an expiry and a payment, exactly one wins.
func paySeat(tx *gorm.DB, ord Order, now time.Time) error {
	var e Enrollment
	if err := tx.Where("id = ?", ord.EnrollmentID).Take(&e).Error; err != nil {
		return notFound(err)
	}
	switch e.Status {
	case StatusEnrolled:
		return nil // billed after it was enrolled (a seat from before the hold)
	case StatusPendingPayment:
	default:
		return ErrHoldExpired
	}
	now = now.UTC()
	res := tx.Exec("UPDATE enrollments SET status = ?, enrolled_at = ?, updated_at = ? WHERE id = ? AND status = ?",
		StatusEnrolled, now, now, e.ID, StatusPendingPayment)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrHoldExpired
	}
	var o Offering
	if err := tx.Where("id = ?", ord.OfferingID).Take(&o).Error; err != nil {
		return err
	}
	return NotifyGuardians(tx, NotifyEnrollmentConfirmed, e.StudentID, fmt.Sprintf("paid:enrollment:%d", e.ID),
		map[string]string{"offering": o.Name, "status": StatusPhrase(StatusEnrolled), "note": "缴费成功，已正式报名",
			"enrollment_id": fmt.Sprint(e.ID), "time": FormatClock(o.StartMin) + "-" + FormatClock(o.EndMin)})
}
