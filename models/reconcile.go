package models

import (
	"context"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Kinds of reconciliation differences.
const (
	DiffMissingLocal  = "missing_local"  // WeChat Pay moved money kehou has no record of
	DiffMissingRemote = "missing_remote" // kehou recorded money WeChat Pay's bill does not show
	DiffAmount        = "amount_differs" // both know it, for different amounts
)

// BillLine is one line of WeChat Pay's trade bill: a payment (OutRefundNo
// empty) or a refund.
type BillLine struct {
	OutTradeNo    string
	TransactionID string
	AmountFen     int64 // the payment's, for a payment line
	OutRefundNo   string
	RefundFen     int64 // the refund's, for a refund line
}

// ReconcileDiff is one difference found (reconcile_diffs).
type ReconcileDiff struct {
	ID          int64     `gorm:"primaryKey"`
	BillDate    string    `gorm:"column:bill_date"`
	SchoolID    *int64    `gorm:"column:school_id"`
	Kind        string    `gorm:"column:kind"`
	OutTradeNo  string    `gorm:"column:out_trade_no"`
	OutRefundNo string    `gorm:"column:out_refund_no"`
	LocalFen    int64     `gorm:"column:local_fen"`
	RemoteFen   int64     `gorm:"column:remote_fen"`
	FoundAt     time.Time `gorm:"column:found_at"`
}

// TableName maps ReconcileDiff to reconcile_diffs.
func (ReconcileDiff) TableName() string { return "reconcile_diffs" }

// ReconcileSummary is what one reconciliation of a day compared.
type ReconcileSummary struct {
	Day                    string
	BillPayments, Payments int
	BillRefunds, Refunds   int
	Diffs                  []ReconcileDiff
}

// reconcileKey names one movement on both sides.
type reconcileKey struct{ trade, refund string }

// ReconcileWeChatPay compares day's trade bill (lines, from WeChat Pay)
// with the money kehou recorded as moved through WeChat Pay that day
// (Asia/Shanghai): payments by when they were paid, refunds by when WeChat
// Pay said they succeeded. It replaces the day's differences with the ones
// found now, so running it again for a day is safe.
func ReconcileWeChatPay(ctx context.Context, db *DB, day string, lines []BillLine) (ReconcileSummary, error) {
	from, err := time.ParseInLocation(time.DateOnly, day, Zone)
	if err != nil {
		return ReconcileSummary{}, E(KindInvalid, "bad_date", "日期须为 YYYY-MM-DD")
	}
	to := from.AddDate(0, 0, 1)
	sum := ReconcileSummary{Day: day}
	type side struct {
		fen    int64
		school *int64
	}
	remote := map[reconcileKey]int64{}
	for _, l := range lines {
		if l.OutRefundNo != "" {
			sum.BillRefunds++
			remote[reconcileKey{l.OutTradeNo, l.OutRefundNo}] += l.RefundFen
		} else {
			sum.BillPayments++
			remote[reconcileKey{l.OutTradeNo, ""}] += l.AmountFen
		}
	}
	local := map[reconcileKey]side{}
	var pays []struct {
		OutTradeNo string
		SchoolID   int64
		AmountFen  int64
	}
	if err := db.Read(ctx).Raw(`SELECT p.out_trade_no, p.school_id, f.amount_fen FROM fee_ledger f
		JOIN pay_orders p ON p.order_id = f.order_id
		WHERE f.kind = ? AND f.method = ? AND f.occurred_at >= ? AND f.occurred_at < ?`,
		LedgerPayment, PayMethodWeChat, from.UTC(), to.UTC()).Scan(&pays).Error; err != nil {
		return sum, err
	}
	for _, p := range pays {
		school := p.SchoolID
		local[reconcileKey{p.OutTradeNo, ""}] = side{p.AmountFen, &school}
	}
	var refunds []struct {
		OutTradeNo  string
		OutRefundNo string
		SchoolID    int64
		AmountFen   int64
	}
	if err := db.Read(ctx).Raw(`SELECT p.out_trade_no, r.out_refund_no, r.school_id, r.amount_fen FROM pay_refunds r
		JOIN pay_orders p ON p.order_id = r.order_id
		WHERE r.status = ? AND r.succeeded_at >= ? AND r.succeeded_at < ?`, PayRefundSuccess, from.UTC(), to.UTC()).
		Scan(&refunds).Error; err != nil {
		return sum, err
	}
	for _, r := range refunds {
		school := r.SchoolID
		local[reconcileKey{r.OutTradeNo, r.OutRefundNo}] = side{r.AmountFen, &school}
	}
	sum.Payments, sum.Refunds = len(pays), len(refunds)
	now := db.now()
	for k, l := range local {
		r, ok := remote[k]
		switch {
		case !ok:
			sum.Diffs = append(sum.Diffs, ReconcileDiff{Kind: DiffMissingRemote, LocalFen: l.fen, SchoolID: l.school,
				OutTradeNo: k.trade, OutRefundNo: k.refund})
		case r != l.fen:
			sum.Diffs = append(sum.Diffs, ReconcileDiff{Kind: DiffAmount, LocalFen: l.fen, RemoteFen: r, SchoolID: l.school,
				OutTradeNo: k.trade, OutRefundNo: k.refund})
		}
	}
	for k, r := range remote {
		if _, ok := local[k]; ok {
			continue
		}
		d := ReconcileDiff{Kind: DiffMissingLocal, RemoteFen: r, OutTradeNo: k.trade, OutRefundNo: k.refund}
		var school int64
		if err := scanOne(db.Read(ctx).Raw("SELECT school_id FROM pay_orders WHERE out_trade_no = ?", k.trade), &school); err == nil {
			d.SchoolID = &school
		}
		sum.Diffs = append(sum.Diffs, d)
	}
	sort.Slice(sum.Diffs, func(i, j int) bool {
		a, b := sum.Diffs[i], sum.Diffs[j]
		if a.OutTradeNo != b.OutTradeNo {
			return a.OutTradeNo < b.OutTradeNo
		}
		return a.OutRefundNo < b.OutRefundNo
	})
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM reconcile_diffs WHERE bill_date = ?", day).Error; err != nil {
			return err
		}
		for i := range sum.Diffs {
			sum.Diffs[i].BillDate, sum.Diffs[i].FoundAt = day, now
			if err := tx.Create(&sum.Diffs[i]).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return sum, err
}
