package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Fees: what a seat costs, computed from the sessions, never typed in.
// Every amount is integer fen. The one rounding rule: when fen are split
// (a term fee pro rata, a half waiver, a refund of part of an order), the
// split rounds in the family's favour — what a family is charged rounds
// down, what it is waived or refunded rounds up (mulDivDown, mulDivUp).

// Billing units: what an offering's fee_fen is per.
const (
	BillingTerm    = "term"
	BillingMonth   = "month"
	BillingSession = "session"
)

// ValidBilling reports whether b is a billing unit.
func ValidBilling(b string) bool {
	return b == BillingTerm || b == BillingMonth || b == BillingSession
}

// BillingLabel is the Chinese name of a billing unit.
func BillingLabel(b string) string {
	switch b {
	case BillingMonth:
		return "每月"
	case BillingSession:
		return "每次课"
	}
	return "每学期"
}

// mulDivDown is a×b/c rounded down (c > 0; a, b ≥ 0): what a family is
// charged.
func mulDivDown(a, b, c int64) int64 { return a * b / c }

// mulDivUp is a×b/c rounded up (c > 0; a, b ≥ 0): what a family gets back.
func mulDivUp(a, b, c int64) int64 { return (a*b + c - 1) / c }

// Bill is what a seat in an offering costs from a date on: the billed
// sessions (dates of the term's calendar the offering meets, minus
// cancelled sessions, from From on) and the gross amount before a waiver.
type Bill struct {
	Billing string
	UnitFen int64
	// Sessions is how many sessions are billed; TermSessions how many the
	// term has in all (the same for a seat taken before the first one).
	Sessions, TermSessions int
	// Months is how many calendar months the billed sessions fall in.
	Months   int
	From     string // the first date billed ("" for the whole term)
	GrossFen int64
	// Dates are the billed dates, ascending.
	Dates []string
}

// ComputeBill bills unitFen per billing unit for the dates of termDates
// (the offering's billable dates of the whole term, ascending) on or after
// from ("" = all). It is pure, the whole rule:
//
//   - session: unit × billed sessions;
//   - month: unit × calendar months with at least one billed session;
//   - term: the unit for the whole term; a seat taken after sessions were
//     held pays unit × billed / term sessions, rounded down.
func ComputeBill(billing string, unitFen int64, termDates []string, from string) Bill {
	b := Bill{Billing: billing, UnitFen: unitFen, TermSessions: len(termDates), From: from}
	months := map[string]bool{}
	for _, d := range termDates {
		if d >= from {
			b.Dates = append(b.Dates, d)
			months[d[:7]] = true
		}
	}
	b.Sessions, b.Months = len(b.Dates), len(months)
	switch billing {
	case BillingSession:
		b.GrossFen = unitFen * int64(b.Sessions)
	case BillingMonth:
		b.GrossFen = unitFen * int64(b.Months)
	default:
		if b.TermSessions > 0 {
			b.GrossFen = mulDivDown(unitFen, int64(b.Sessions), int64(b.TermSessions))
		}
	}
	return b
}

// PerSessionFen is the highest price a family pays for one session of the
// term under billing (what a region's cap limits): the unit for session
// billing, the unit over the sessions of the thinnest month for month
// billing, the unit over the term's sessions for term billing — each
// rounded up, so a cap is never passed by rounding. With no sessions at
// all it is the unit itself.
func PerSessionFen(billing string, unitFen int64, termDates []string) int64 {
	if unitFen == 0 {
		return 0
	}
	switch billing {
	case BillingMonth:
		per := map[string]int64{}
		for _, d := range termDates {
			per[d[:7]]++
		}
		var most int64
		for _, n := range per {
			if p := mulDivUp(unitFen, 1, n); p > most {
				most = p
			}
		}
		if most > 0 {
			return most
		}
	case BillingTerm:
		if n := int64(len(termDates)); n > 0 {
			return mulDivUp(unitFen, 1, n)
		}
	}
	return unitFen
}

// billableDates lists, ascending, the dates offering o bills over the
// whole term t: the term's teaching dates of its weekdays, minus sessions
// cancelled by the school. Read inside tx.
func billableDates(tx *gorm.DB, o Offering, t Term) ([]string, error) {
	var cancelled []string
	if err := tx.Raw("SELECT session_date FROM sessions WHERE offering_id = ? AND status = ?",
		o.ID, SessionCancelled).Scan(&cancelled).Error; err != nil {
		return nil, err
	}
	skip := make(map[string]bool, len(cancelled))
	for _, d := range cancelled {
		skip[d] = true
	}
	var out []string
	for _, td := range TeachingDates(t.StartsOn, t.EndsOn, t.NoService(), t.Extra(), o.Weekdays) {
		if !skip[td.Date] {
			out = append(out, td.Date)
		}
	}
	return out, nil
}

// offeringBill is the bill of a seat in o taken on date from ("" = the
// whole term), inside tx.
func offeringBill(tx *gorm.DB, o Offering, from string) (Bill, []string, error) {
	var t Term
	if err := tx.Where("id = ?", o.TermID).Take(&t).Error; err != nil {
		return Bill{}, nil, notFound(err)
	}
	dates, err := billableDates(tx, o, t)
	if err != nil {
		return Bill{}, nil, err
	}
	billing := o.Billing
	if billing == "" {
		billing = BillingTerm
	}
	return ComputeBill(billing, o.FeeFen, dates, from), dates, nil
}

// ErrFeeOverCap answers publishing (or raising the fee of) an offering whose
// per-session price is above its region's cap; the message names the cap
// and the region that set it.
var ErrFeeOverCap = E(KindInvalid, "fee_over_cap", "收费超过所在地区规定的上限")

// checkFeeCap returns ErrFeeOverCap (naming the cap and the region) when
// o's per-session price is above the cap of the nearest fee policy of its
// school's region, inside tx. No policy, or no cap for o's kind: no limit.
func checkFeeCap(tx *gorm.DB, o Offering) error {
	if o.FeeFen == 0 {
		return nil
	}
	p, ok, err := policyForSchool(tx, o.SchoolID)
	if err != nil || !ok {
		return err
	}
	limit := p.ClubMaxFenPerSession
	if o.Kind == KindBasic {
		limit = p.BasicMaxFenPerSession
	}
	if limit == nil {
		return nil
	}
	_, dates, err := offeringBill(tx, o, "")
	if err != nil {
		return err
	}
	billing := o.Billing
	if billing == "" {
		billing = BillingTerm
	}
	per := PerSessionFen(billing, o.FeeFen, dates)
	if per <= *limit {
		return nil
	}
	kind := "社团"
	if o.Kind == KindBasic {
		kind = "基础托管"
	}
	return ErrFeeOverCap.WithMessage("每次课收费%s元，超过%s规定的%s每次课上限%s元",
		Yuan(per), p.RegionName, kind, Yuan(*limit))
}

// Yuan formats fen as yuan with two decimals ("3.00").
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// FeeLine is one published offering in a school's public fee list: what a
// parent sees before pressing enroll.
type FeeLine struct {
	Offering      Offering
	Sessions      int
	Months        int
	TermAmountFen int64
	PerSessionFen int64
}

// FindSchoolFees lists the fees of schoolID's published and closed
// offerings of termID (0: every term) for a (the school's staff in scope,
// or a parent with a child in it), with the policy that caps them (ok
// false when none applies).
func FindSchoolFees(ctx context.Context, db *DB, a Actor, schoolID, termID int64) ([]FeeLine, FeePolicy, bool, error) {
	if _, err := canSeeSchoolOfferings(ctx, db, a, schoolID); err != nil {
		return nil, FeePolicy{}, false, err
	}
	q := db.Read(ctx)
	var offs []Offering
	w := q.Where("school_id = ? AND status IN ?", schoolID, runningStatuses)
	if termID != 0 {
		w = w.Where("term_id = ?", termID)
	}
	if err := w.Order("term_id DESC, kind, start_min, id").Limit(maxOfferingList).Find(&offs).Error; err != nil {
		return nil, FeePolicy{}, false, err
	}
	terms := map[int64]Term{}
	out := make([]FeeLine, 0, len(offs))
	for _, o := range offs {
		t, ok := terms[o.TermID]
		if !ok {
			if err := q.Where("id = ?", o.TermID).Take(&t).Error; err != nil {
				return nil, FeePolicy{}, false, err
			}
			terms[o.TermID] = t
		}
		dates, err := billableDates(q, o, t)
		if err != nil {
			return nil, FeePolicy{}, false, err
		}
		b := ComputeBill(o.Billing, o.FeeFen, dates, "")
		out = append(out, FeeLine{Offering: o, Sessions: b.Sessions, Months: b.Months, TermAmountFen: b.GrossFen,
			PerSessionFen: PerSessionFen(o.Billing, o.FeeFen, dates)})
	}
	p, ok, err := policyForSchool(q, schoolID)
	return out, p, ok, err
}
