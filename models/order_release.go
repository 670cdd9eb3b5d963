package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The end of a hold (the holds job): expired holds released in a few
// set-based statements, the seats going to the waitlist heads. The hold
// itself is made in order_hold.go.

// ReleaseExpiredHolds releases every hold past its expiry at now (the
// holds job): per offering, in one transaction each, the seats are
// withdrawn as unpaid by freeSeats (the counter drops and the waitlist is
// promoted into them: each promoted head gets a hold of its own and a
// message), their bills voided. A hold paid meanwhile is left alone. It answers how many
// seats were released.
func ReleaseExpiredHolds(ctx context.Context, db *DB, now time.Time) (int, error) {
	var offerings []int64
	if err := db.Read(ctx).Raw("SELECT DISTINCT offering_id FROM enrollments WHERE status = ? AND hold_expires_at <= ? AND NOT "+
		payOrderOpenSQL+" ORDER BY offering_id", StatusPendingPayment, now.UTC(), PayOrderOpen).Scan(&offerings).Error; err != nil {
		return 0, err
	}
	released := 0
	for _, oid := range offerings {
		if err := ctx.Err(); err != nil {
			return released, err
		}
		var n int
		// The release's clock is the job's: the seats are withdrawn at now.
		err := db.writeOfferings(withClock(ctx, now.UTC()), func(tx *gorm.DB) error {
			var err error
			n, err = releaseOffering(tx, oid, now)
			return err
		})
		if err != nil {
			return released, err
		}
		released += n
	}
	return released, nil
}

// releaseOffering releases offering oid's expired holds inside tx, as a
// few set-based statements whatever their number. Locks: the offering,
// then the holds' orders in id order (a payment takes its order's lock
// first and then only the enrollment row, so the two never wait on each
// other in a circle); a promoted head's student after, as every withdrawal
// does (retryTx runs it again on a deadlock with a batch).
func releaseOffering(tx *gorm.DB, oid int64, now time.Time) (int, error) {
	var o Offering
	if err := lockOffering(tx, oid, &o); err != nil {
		return 0, err
	}
	now = now.UTC()
	var holds []Enrollment
	if err := tx.Where("offering_id = ? AND status = ? AND hold_expires_at <= ? AND NOT "+payOrderOpenSQL, oid, StatusPendingPayment, now, PayOrderOpen).
		Order("id").Find(&holds).Error; err != nil {
		return 0, err
	}
	if len(holds) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(holds))
	for i, e := range holds {
		ids[i] = e.ID
	}
	// The holds' orders, locked in id order: a payment holding one of them
	// finishes first, and the order is then no longer unpaid.
	q := "SELECT * FROM orders WHERE enrollment_id IN ? ORDER BY id"
	if dialectOf(tx) == Postgres {
		q += " FOR UPDATE"
	}
	var ords []Order
	if err := tx.Raw(q, ids).Scan(&ords).Error; err != nil {
		return 0, err
	}
	orderOf := make(map[int64]Order, len(ords))
	for _, ord := range ords {
		orderOf[ord.EnrollmentID] = ord
	}
	var freed []Enrollment
	var orderIDs []int64
	for _, e := range holds {
		ord, ok := orderOf[e.ID]
		if ok && ord.Status != OrderUnpaid {
			continue // paid while we waited for its lock
		}
		freed = append(freed, e)
		if ok {
			orderIDs = append(orderIDs, ord.ID)
		}
	}
	if len(freed) == 0 {
		return 0, nil
	}
	// Every row is under the offering's lock and its order's: nothing else
	// can have moved one. The seats go to the waitlist's heads (freeSeats).
	if err := freeSeats(tx, o, freed, release{to: StatusWithdrawn, reason: WithdrawnUnpaid, unpaid: true}); err != nil {
		return 0, err
	}
	if err := voidOrders(tx, orderIDs, now); err != nil {
		return 0, err
	}
	for _, e := range freed {
		if err := NotifyGuardians(tx, NotifyWithdrawn, e.StudentID, fmt.Sprintf("unpaid:enrollment:%d", e.ID),
			map[string]string{"offering": o.Name, "status": StatusPhrase(StatusWithdrawn), "note": "未在保留时间内缴费，名额已释放",
				"enrollment_id": fmt.Sprint(e.ID)}); err != nil {
			return 0, err
		}
	}
	return len(freed), nil
}

// voidOrders settles the locked orders ids of seats released unpaid, in
// bulk, inside tx: what each still owes is voided (one ledger row each,
// written together) and its status follows its ledger; one that was paid
// in part is settled the ordinary way (settleWithdrawal: its payment comes
// back by the rule).
func voidOrders(tx *gorm.DB, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		OrderID int64
		Kind    LedgerKind
		Sum     int64
	}
	if err := tx.Raw("SELECT order_id, kind, COALESCE(SUM(amount_fen), 0) AS sum FROM fee_ledger WHERE order_id IN ? GROUP BY order_id, kind",
		ids).Scan(&rows).Error; err != nil {
		return err
	}
	sums := make(map[int64]*LedgerSums, len(ids))
	for _, id := range ids {
		sums[id] = &LedgerSums{}
	}
	for _, r := range rows {
		addToSums(sums[r.OrderID], LedgerEntry{Kind: r.Kind, AmountFen: r.Sum})
	}
	var ords []Order
	if err := tx.Where("id IN ?", ids).Order("id").Find(&ords).Error; err != nil {
		return err
	}
	var moves []LedgerEntry
	byStatus := map[OrderStatus][]int64{}
	for _, ord := range ords {
		s := sums[ord.ID]
		if s.Payment > 0 {
			if err := settleWithdrawal(tx, ord.EnrollmentID, "", "unpaid", 0, now); err != nil {
				return err
			}
			continue
		}
		if owed := s.Owed(); owed > 0 {
			moves = append(moves, LedgerEntry{OrderID: ord.ID, SchoolID: ord.SchoolID, Kind: LedgerVoid, AmountFen: owed, Reason: "unpaid",
				ExternalID: fmt.Sprintf("void:enrollment:%d", ord.EnrollmentID), OccurredAt: now, CreatedAt: now})
			s.Void += owed
		}
		byStatus[DeriveOrderStatus(*s)] = append(byStatus[DeriveOrderStatus(*s)], ord.ID)
	}
	if len(moves) > 0 {
		if err := tx.CreateInBatches(&moves, 500).Error; err != nil {
			return err
		}
	}
	for status, ids := range byStatus {
		if err := tx.Exec("UPDATE orders SET status = ?, updated_at = ? WHERE id IN ?", status, now, ids).Error; err != nil {
			return err
		}
	}
	return nil
}

// admitPayment takes a slot of the write path's admission for a payment:
// on SQLite a payment competes with the rush for the one writer, so
// payments and enrollments share one bound (ENROLL_QUEUE_LIMIT); past it
// ErrBusy, 429 with Retry-After, and nothing was written.
func (db *DB) admitPayment() (func(), error) { return db.enroll.admit() }
