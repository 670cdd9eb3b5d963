package models_test

import (
	"reflect"
	"testing"
	"time"

	"kehou/models"
)

// septemberDates is a hand-made calendar: September 2026, Tuesdays and
// Thursdays, the 15th a no-service day, Sunday the 27th a make-up day on
// Thursday's timetable, and the session of the 22nd cancelled.
func septemberDates(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, d := range models.TeachingDates("2026-09-01", "2026-09-30", []string{"2026-09-15"},
		[]models.ExtraDay{{Date: "2026-09-27", AsWeekday: 4}}, 1<<2|1<<4) {
		if d.Date != "2026-09-22" {
			out = append(out, d.Date)
		}
	}
	want := []string{"2026-09-01", "2026-09-03", "2026-09-08", "2026-09-10", "2026-09-17", "2026-09-24", "2026-09-27", "2026-09-29"}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("calendar = %v, want %v", out, want)
	}
	return out
}

func TestComputeBill(t *testing.T) {
	sep := septemberDates(t) // 8 billable sessions
	twoMonths := []string{"2026-09-29", "2026-10-08", "2026-10-13"}
	for _, c := range []struct {
		name, billing string
		unit          int64
		dates         []string
		from          string
		sessions      int
		gross         int64
	}{
		{"session/whole term", models.BillingSession, 300, sep, "", 8, 2400},
		{"session/from the 17th", models.BillingSession, 300, sep, "2026-09-17", 4, 1200},
		{"month/one month", models.BillingMonth, 5000, sep, "", 8, 5000},
		{"month/two months", models.BillingMonth, 1000, twoMonths, "", 3, 2000},
		{"month/from October", models.BillingMonth, 1000, twoMonths, "2026-10-01", 2, 1000},
		{"term/whole term", models.BillingTerm, 20000, sep, "", 8, 20000},
		{"term/late joiner pro rata", models.BillingTerm, 20000, sep, "2026-09-17", 4, 10000},
		// 10001 × 4/8 = 5000.5: what a family is charged rounds down.
		{"term/rounds down", models.BillingTerm, 10001, sep, "2026-09-17", 4, 5000},
		{"term/no sessions left", models.BillingTerm, 20000, sep, "2026-10-01", 0, 0},
		{"free", models.BillingSession, 0, sep, "", 8, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := models.ComputeBill(c.billing, c.unit, c.dates, c.from)
			if b.Sessions != c.sessions || b.GrossFen != c.gross {
				t.Fatalf("bill = %d sessions, %d fen; want %d, %d", b.Sessions, b.GrossFen, c.sessions, c.gross)
			}
		})
	}
}

func TestPerSessionFen(t *testing.T) {
	sep := septemberDates(t)
	twoMonths := []string{"2026-09-29", "2026-10-08", "2026-10-13"}
	for _, c := range []struct {
		name, billing string
		unit          int64
		dates         []string
		want          int64
	}{
		{"session", models.BillingSession, 300, sep, 300},
		{"term/even", models.BillingTerm, 2400, sep, 300},
		// 1000 / 3 = 333.3: a price checked against a cap rounds up.
		{"term/rounds up", models.BillingTerm, 1000, twoMonths, 334},
		// September has one session, October two: the thin month decides.
		{"month/thinnest month", models.BillingMonth, 1000, twoMonths, 1000},
		{"term/no sessions", models.BillingTerm, 1000, nil, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := models.PerSessionFen(c.billing, c.unit, c.dates); got != c.want {
				t.Fatalf("per session = %d, want %d", got, c.want)
			}
		})
	}
}

func TestRefundDue(t *testing.T) {
	sep := septemberDates(t)
	twoMonths := []string{"2026-09-29", "2026-10-08", "2026-10-13"}
	const start = 16*60 + 30
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	before := at("2026-08-31T12:00:00+08:00")
	// The session of Thursday the 10th started at 16:30: the 1st, 3rd,
	// 8th and 10th are held, 4 of 8 are not.
	midSep := at("2026-09-10T17:00:00+08:00")
	for _, c := range []struct {
		name, rule     string
		paid, refunded int64
		billed         int
		dates          []string
		now            time.Time
		want           int64
	}{
		{"pro_rata/before start", models.RefundProRata, 2400, 0, 8, sep, before, 2400},
		{"pro_rata/half held", models.RefundProRata, 2400, 0, 8, sep, midSep, 1200},
		// 1001 × 4/8 = 500.5: what a family gets back rounds up.
		{"pro_rata/rounds up", models.RefundProRata, 1001, 0, 8, sep, midSep, 501},
		{"pro_rata/capped by refunds", models.RefundProRata, 2400, 2000, 8, sep, midSep, 400},
		{"none_after_start/before", models.RefundNoneAfterStart, 2400, 0, 8, sep, before, 2400},
		{"none_after_start/after", models.RefundNoneAfterStart, 2400, 0, 8, sep, midSep, 0},
		{"full_before_start/before", models.RefundFullBeforeStart, 2400, 0, 8, sep, before, 2400},
		{"full_before_start/month under way", models.RefundFullBeforeStart, 2400, 0, 8, sep, midSep, 0},
		// September begun, October not: October's two sessions come back.
		{"full_before_start/next month", models.RefundFullBeforeStart, 3000, 0, 3, twoMonths, at("2026-09-30T12:00:00+08:00"), 2000},
		{"pro_rata/next month", models.RefundProRata, 3000, 0, 3, twoMonths, at("2026-09-30T12:00:00+08:00"), 2000},
		{"full_before_start/October begun", models.RefundFullBeforeStart, 3000, 0, 3, twoMonths, at("2026-10-08T17:00:00+08:00"), 0},
		{"pro_rata/October begun", models.RefundProRata, 3000, 0, 3, twoMonths, at("2026-10-08T17:00:00+08:00"), 1000},
		{"all held", models.RefundProRata, 2400, 0, 8, sep, at("2026-10-01T00:00:00+08:00"), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := models.RefundDue(c.rule, c.paid, c.refunded, c.billed, c.dates, start, c.now)
			if got != c.want {
				t.Fatalf("refund = %d, want %d", got, c.want)
			}
		})
	}
}

func TestWaiverFen(t *testing.T) {
	for _, c := range []struct {
		waiver string
		gross  int64
		want   int64
	}{
		{models.WaiverNone, 2401, 0},
		// The family pays 2401/2 rounded down (1200); 1201 is waived.
		{models.WaiverHalf, 2401, 1201},
		{models.WaiverHalf, 2400, 1200},
		{models.WaiverFull, 2401, 2401},
	} {
		if got := models.WaiverFen(c.waiver, c.gross); got != c.want {
			t.Errorf("%s of %d = %d, want %d", c.waiver, c.gross, got, c.want)
		}
	}
}

func TestDeriveOrderStatus(t *testing.T) {
	for _, c := range []struct {
		s    models.LedgerSums
		want models.OrderStatus
	}{
		{models.LedgerSums{Charge: 100}, models.OrderUnpaid},
		{models.LedgerSums{Charge: 100, Waiver: 50}, models.OrderUnpaid},
		{models.LedgerSums{Charge: 100, Waiver: 100}, models.OrderWaived},
		{models.LedgerSums{Charge: 100, Void: 100}, models.OrderClosed},
		{models.LedgerSums{Charge: 100, Waiver: 50, Payment: 50}, models.OrderPaid},
		{models.LedgerSums{Charge: 100, Payment: 100, Refund: 30}, models.OrderPartiallyRefunded},
		{models.LedgerSums{Charge: 100, Payment: 100, Refund: 100}, models.OrderRefunded},
		{models.LedgerSums{Charge: 100, Credit: 10, Payment: 90}, models.OrderPaid},
		{models.LedgerSums{Charge: 100, Payment: 40}, models.OrderUnpaid},
	} {
		if got := models.DeriveOrderStatus(c.s); got != c.want {
			t.Errorf("%+v → %s, want %s", c.s, got, c.want)
		}
	}
}
