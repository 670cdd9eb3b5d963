package models

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
)

// ObserveStats makes ComputeStats on db call f after each step (nil: none).
func ObserveStats(db *DB, f func(step string)) { db.observeStats = f }

// SoldOutCached reports whether offering id is cached as sold out and fresh.
func SoldOutCached(db *DB, id int64) bool {
	a, ok := db.cache.soldOut.Peek(id, within[soldOutFacts](db.cache.offers.Load(), time.Now(), soldOutTTL))
	return ok && a.Value.full
}

// EnrollAsOneBatch runs ins, past Enroll's pre-checks, as one enrollment
// batch and returns each member's answer (a replay is a replayError here,
// not yet an answer; a panic is a PanicValue) and whether the batch ran
// member by member.
func EnrollAsOneBatch(ctx context.Context, db *DB, ins []NewEnrollment) ([]Enrollment, []error, bool) {
	out, errs := make([]Enrollment, len(ins)), make([]error, len(ins))
	jobs := make([]*enrollJob, 0, len(ins))
	at := make([]int, 0, len(ins))
	for i, in := range ins {
		j, err := precheckEnroll(ctx, db, in, time.Now().UTC())
		if err != nil {
			errs[i] = err
			continue
		}
		j.done = make(chan enrollResult, 1)
		jobs = append(jobs, j)
		at = append(at, i)
	}
	split := db.runEnrollBatch(jobs)
	for n, j := range jobs {
		r := <-j.done
		out[at[n]], errs[at[n]] = r.e, r.err
	}
	return out, errs, split
}

// PanicValue is the value of a panic a batch caught in err, if any.
func PanicValue(err error) (any, bool) {
	var p panicError
	if errors.As(err, &p) {
		return p.v, true
	}
	return nil, false
}

// ObserveDecide makes every enrollment batch of db call f with each member
// as it is decided (nil: none).
func ObserveDecide(db *DB, f func(NewEnrollment)) { db.observeDecide = f }

// EnrollmentsStarted reports whether db's enrollment batch workers run.
func EnrollmentsStarted(db *DB) bool { return db.enroll.queue.Load() != nil }

// LiveStatuses is the live set, for the vocabulary test.
func LiveStatuses() []EnrollmentStatus { return liveStatuses }

// EnrollmentStatuses are every enrollment status, for the vocabulary test.
func EnrollmentStatuses() []EnrollmentStatus {
	out := make([]EnrollmentStatus, len(enrollmentStatuses))
	for i, s := range enrollmentStatuses {
		out[i] = s.Status
	}
	return out
}

// OutboxStatuses are every outbox status, for the vocabulary test.
func OutboxStatuses() []OutboxStatus {
	return []OutboxStatus{OutboxPending, OutboxSending, OutboxSent, OutboxRefused, OutboxFailed}
}

// LiveSQL is the live set as the SQL reads it.
func LiveSQL() string { return liveSQL }

// OrderStatusSQL is DeriveOrderStatus in SQL, for the vocabulary test.
func OrderStatusSQL(c, w, k, v, p, r string) string { return orderStatusSQL(c, w, k, v, p, r) }

// MoneyWords are the words of the money vocabulary (status_money.go), for
// the literal test.
func MoneyWords() []string {
	var out []string
	for _, s := range orderStatuses {
		out = append(out, string(s))
	}
	for _, s := range ledgerKinds {
		out = append(out, string(s))
	}
	for _, s := range payOrderStates {
		out = append(out, string(s))
	}
	for _, s := range payRefundStatuses {
		out = append(out, string(s))
	}
	return out
}

// PayDefaults are the first pay order state and pay refund status: the
// schema's defaults.
func PayDefaults() (PayOrderState, PayRefundStatus) { return payOrderStates[0], payRefundStatuses[0] }

// countingPool counts the statements sent through it.
type countingPool struct {
	gorm.ConnPool
	n *int
}

func (p countingPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	*p.n++
	return p.ConnPool.ExecContext(ctx, q, args...)
}

func (p countingPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	*p.n++
	return p.ConnPool.QueryContext(ctx, q, args...)
}

func (p countingPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	*p.n++
	return p.ConnPool.QueryRowContext(ctx, q, args...)
}

// BatchStatements runs ins, past Enroll's pre-checks, as one enrollment
// batch (enrollBatchTx, as runEnrollBatch does) and answers how many
// statements the batch sent inside its transaction (BEGIN and COMMIT not
// counted) and each member's error.
func BatchStatements(ctx context.Context, db *DB, ins []NewEnrollment) (int, []error) {
	errs := make([]error, len(ins))
	var jobs []*enrollJob
	var at []int
	for i, in := range ins {
		j, err := precheckEnroll(ctx, db, in, time.Now().UTC())
		if err != nil {
			errs[i] = err
			continue
		}
		jobs = append(jobs, j)
		at = append(at, i)
	}
	n := 0
	res := make([]enrollResult, len(jobs))
	err := db.sharedTx(func(tx *gorm.DB) error {
		n = 0
		pool := tx.Statement.ConnPool
		tx.Statement.ConnPool = countingPool{ConnPool: pool, n: &n}
		defer func() { tx.Statement.ConnPool = pool }()
		clear(res)
		return enrollBatchTx(tx, jobs, res, nil)
	})
	for k, i := range at {
		errs[i] = res[k].err
		if err != nil {
			errs[i] = err
		}
	}
	return n, errs
}

// FreeSeats withdraws enrollments ids of offering oid together through
// freeSeats, in a plain DB.Tx (not writeOfferings: whatever the caches see
// is freeSeats' own doing).
func FreeSeats(ctx context.Context, db *DB, oid int64, ids []int64) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		o, es, err := lockedSeats(tx, oid, ids)
		if err != nil {
			return err
		}
		return freeSeats(tx, o, es, release{to: StatusWithdrawn})
	})
}

// TakeSeats gives enrollments ids of offering oid seats together through
// takeSeats, in a plain DB.Tx.
func TakeSeats(ctx context.Context, db *DB, oid int64, ids []int64) error {
	return db.Tx(ctx, func(tx *gorm.DB) error {
		o, es, err := lockedSeats(tx, oid, ids)
		if err != nil {
			return err
		}
		return takeSeats(tx, o, es)
	})
}

func lockedSeats(tx *gorm.DB, oid int64, ids []int64) (Offering, []Enrollment, error) {
	var o Offering
	if err := lockOffering(tx, oid, &o); err != nil {
		return o, nil, err
	}
	var es []Enrollment
	err := tx.Where("id IN ?", ids).Order("id").Find(&es).Error
	return o, es, err
}

// ApplyNotifiedAsOneBatch applies ps as one batch of the notification
// write path (runPayBatch), whatever the engine, and answers each one's
// outcome and error (a panic as a panicError: see PanicValue).
func ApplyNotifiedAsOneBatch(db *DB, ps []WeChatPayment) ([]string, []error) {
	jobs := make([]*payJob, len(ps))
	for i, p := range ps {
		jobs[i] = &payJob{p: p, done: make(chan payResult, 1)}
	}
	db.runPayBatch(jobs)
	outcomes, errs := make([]string, len(ps)), make([]error, len(ps))
	for i, j := range jobs {
		r := <-j.done
		outcomes[i], errs[i] = r.outcome, r.err
	}
	return outcomes, errs
}
