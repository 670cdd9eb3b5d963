package models

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// offering) before they are written, inside the batch's transaction: an
// amount above zero makes the seat pending_payment with its expiry
// (res[i].e changed in place, so the row, the confirmation and the
// Idempotency-Key answer say so). It returns the seats that need an order
// (openBatchOrders). Every fact is the batch's fresh read (f: the
// offering's fee and billing, its term's calendar, the student's waiver);
// what it adds is one statement for the priced offerings' cancelled
// sessions and each school's hold minutes (effectivePolicy), per batch, not
// per seat.
func priceBatch(r raw, f batchFacts, jobs []*enrollJob, taken []int, res []enrollResult) ([]heldSeat, error) {
	var priced []int64
	for _, i := range taken {
		if res[i].e.Status == StatusEnrolled && jobs[i].o.FeeFen != 0 {
			priced = append(priced, res[i].e.OfferingID)
		}
	}
	if len(priced) == 0 {
		return nil, nil
	}
	slices.Sort(priced)
	priced = slices.Compact(priced)
	skip, err := cancelledSessions(r, priced)
	if err != nil {
		return nil, err
	}
	fresh, err := lockedCalendars(r, f, priced)
	if err != nil {
		return nil, err
	}
	dates := make(map[int64][]string, len(priced))
	calendars := map[calendarKey][]TeachingDate{}
	holds := map[int64]int{}
	var out []heldSeat
	for _, i := range taken {
		e := &res[i].e
		o := jobs[i].o // as decided: the fresh row's facts (offeringRow.onto)
		row := f.offerings[e.OfferingID]
		if e.Status != StatusEnrolled || o.FeeFen == 0 || row == nil {
			continue
		}
		if o.Billing == "" {
			o.Billing = BillingTerm
		}
		ds, ok := dates[o.ID]
		if !ok {
			// A term's clubs mostly share their weekdays: their
			// teaching dates are worked out once per batch.
			k := calendarKey{o.TermID, o.Weekdays}
			tds, ok := calendars[k]
			if !ok {
				t, ok := fresh[o.TermID]
				if !ok {
					t = Term{StartsOn: row.StartsOn, EndsOn: row.EndsOn, NoServiceDays: row.NoServiceDays, ExtraDays: row.ExtraDays}
				}
				tds = TeachingDates(t.StartsOn, t.EndsOn, t.NoService(), t.Extra(), o.Weekdays)
				calendars[k] = tds
			}
			for _, td := range tds {
				if !skip[o.ID][td.Date] {
					ds = append(ds, td.Date)
				}
			}
			dates[o.ID] = ds
		}
		b := ComputeBill(o.Billing, o.FeeFen, ds, shanghaiDate(jobs[i].now))
		if b.GrossFen == 0 {
			continue
		}
		s := heldSeat{member: i, o: o, bill: b, waiver: f.students[e.StudentID].waiver}
		if s.waiver == "" {
			s.waiver = WaiverNone
		}
		amount := b.GrossFen - WaiverFen(s.waiver, b.GrossFen)
		e.AmountFen = &amount
		out = append(out, s)
		if amount == 0 {
			continue // waived in full: enrolled at once
		}
		minutes, ok := holds[o.SchoolID]
		if !ok {
			if minutes, err = holdMinutes(r, o.SchoolID); err != nil {
				return nil, err
			}
			holds[o.SchoolID] = minutes
		}
		// The request's clock, as every rule of the batch.
		held := jobs[i].now.UTC()
		exp := held.Add(time.Duration(minutes) * time.Minute)
		e.Status, e.HeldAt, e.HoldExpiresAt = StatusPendingPayment, &held, &exp
	}
	return out, nil
}

// calendarKey names a term's teaching dates for one set of weekdays.
type calendarKey struct {
	term     int64
	weekdays int
}

// holdMinutesSQL is the hold of the fee policy nearest to a school (its
// region's own, else the nearest ancestor's), as effectivePolicy finds it,
// in one statement: a region's path is its ancestry ("/1/5/9/"), so the
// ancestors are the regions whose path begins the school's region's path,
// and the nearest is the longest. It walks the policies (a few rows), not
// the regions.
const holdMinutesSQL = `SELECT p.hold_minutes FROM fee_policies p JOIN regions a ON a.id = p.region_id
	WHERE a.path <> '' AND substr((SELECT r.path FROM schools s JOIN regions r ON r.id = s.region_id WHERE s.id = ?), 1, length(a.path)) = a.path
	ORDER BY length(a.path) DESC LIMIT 1`

// holdMinutes is how long a seat in school is held for payment.
func holdMinutes(r raw, school int64) (int, error) {
	var m int
	err := r.queryRow(holdMinutesSQL, school).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultFeePolicy().HoldMinutes, nil
	}
	return m, err
}

// cancelledSessions are the cancelled sessions' dates of the offerings ids
// (not billed), in one statement; the partial index sessions_cancelled
// (migration 0110) holds only those rows, so the statement does not walk
// every session of a priced club.
// lockedCalendars reads again, on PostgreSQL, the calendars of the terms of
// the priced offerings ids: the locking statement of the batch's read
// (batchRead) joins each offering's term as of its snapshot, and a
// calendar change that committed while the batch waited for an offering's
// lock (SetTermCalendar takes them before it writes) is seen only by a
// statement after it. SQLite's one writer needs none of this (nil).
func lockedCalendars(r raw, f batchFacts, ids []int64) (map[int64]Term, error) {
	if r.d != Postgres {
		return nil, nil
	}
	var terms []int64
	for _, id := range ids {
		if row := f.offerings[id]; row != nil && !slices.Contains(terms, row.TermID) {
			terms = append(terms, row.TermID)
		}
	}
	out := make(map[int64]Term, len(terms))
	err := r.each("SELECT id, starts_on, ends_on, no_service_days, extra_days FROM terms WHERE id = ANY(?)",
		[]any{terms}, func(rows *sql.Rows) error {
			var t Term
			if err := rows.Scan(&t.ID, &t.StartsOn, &t.EndsOn, &t.NoServiceDays, &t.ExtraDays); err != nil {
				return err
			}
			out[t.ID] = t
			return nil
		})
	return out, err
}

func cancelledSessions(r raw, ids []int64) (map[int64]map[string]bool, error) {
	in, arg := "offering_id IN (SELECT value FROM json_each(?))", any(nil)
	if r.d == Postgres {
		in, arg = "offering_id = ANY(?)", ids
	} else {
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		arg = string(b)
	}
	skip := map[int64]map[string]bool{}
	err := r.each("SELECT offering_id, session_date FROM sessions WHERE "+in+" AND status = '"+SessionCancelled+"'",
		[]any{arg}, func(rows *sql.Rows) error {
			var id int64
			var date string
			if err := rows.Scan(&id, &date); err != nil {
				return err
			}
			if skip[id] == nil {
				skip[id] = map[string]bool{}
			}
			skip[id][date] = true
			return nil
		})
	return skip, err
}

// openBatchOrders opens the orders of the seats priceBatch priced, inside
// the batch's transaction, once their enrollments are written (a held
// seat's held_at and hold_expires_at were written with it): the orders and
// their charge and waiver rows in the ledger, set-based (writeOrdersSQLite,
// writeOrdersPG), and each member's answer names its order.
func openBatchOrders(r raw, jobs []*enrollJob, seats []heldSeat, res []enrollResult) error {
	if len(seats) == 0 {
		return nil
	}
	var w batchWrite
	for _, s := range seats {
		e := res[s.member].e
		now := jobs[s.member].now.UTC()
		from := shanghaiDate(now)
		if len(s.bill.Dates) > 0 {
			from = s.bill.Dates[0]
		}
		waiverFen := WaiverFen(s.waiver, s.bill.GrossFen)
		w.orderEnrollment = append(w.orderEnrollment, e.ID)
		w.orderSchool = append(w.orderSchool, s.o.SchoolID)
		w.orderTerm = append(w.orderTerm, s.o.TermID)
		w.orderOffering = append(w.orderOffering, s.o.ID)
		w.orderStudent = append(w.orderStudent, e.StudentID)
		w.orderBilling = append(w.orderBilling, s.bill.Billing)
		w.orderUnit = append(w.orderUnit, s.bill.UnitFen)
		w.orderSessions = append(w.orderSessions, int64(s.bill.Sessions))
		w.orderBillsFrom = append(w.orderBillsFrom, from)
		w.orderGross = append(w.orderGross, s.bill.GrossFen)
		w.orderWaiver = append(w.orderWaiver, s.waiver)
		w.orderWaiverFen = append(w.orderWaiverFen, waiverFen)
		w.orderAmount = append(w.orderAmount, s.bill.GrossFen-waiverFen)
		w.orderStatus = append(w.orderStatus, string(DeriveOrderStatus(LedgerSums{Charge: s.bill.GrossFen, Waiver: waiverFen})))
		w.orderAt = append(w.orderAt, now)
		w.addMove(e.ID, string(LedgerCharge), s.bill.GrossFen, fmt.Sprintf("charge:enrollment:%d", e.ID), "", now)
		if waiverFen > 0 {
			w.addMove(e.ID, string(LedgerWaiver), waiverFen, fmt.Sprintf("waiver:enrollment:%d", e.ID), s.waiver, now)
		}
	}
	write := writeOrdersSQLite
	if r.d == Postgres {
		write = writeOrdersPG
	}
	ids, err := write(r, &w)
	if err != nil {
		return err
	}
	if len(ids) != len(seats) {
		return fmt.Errorf("models: opened %d orders for %d held seats", len(ids), len(seats))
	}
	for k, s := range seats {
		e := &res[s.member].e
		id, ok := ids[e.ID]
		if !ok {
			return fmt.Errorf("models: no order opened for enrollment %d", e.ID)
		}
		amount := w.orderAmount[k]
		e.OrderID, e.AmountFen = &id, &amount
	}
	return nil
}

// addMove adds one ledger row of the order of enrollment.
func (w *batchWrite) addMove(enrollment int64, kind string, amount int64, external, reason string, at time.Time) {
	w.moveEnrollment = append(w.moveEnrollment, enrollment)
	w.moveKind = append(w.moveKind, kind)
	w.moveAmount = append(w.moveAmount, amount)
	w.moveExternal = append(w.moveExternal, external)
	w.moveReason = append(w.moveReason, reason)
	w.moveAt = append(w.moveAt, at)
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
