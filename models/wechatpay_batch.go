package models

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// The write path of WeChat Pay's payment notifications (docs/wechatpay.md,
// "A burst of notifications"). WeChat Pay may post thousands at once — the
// day fees open, every family pays within minutes — and on SQLite each one
// alone is a write transaction on the single writer, most of whose time is
// its commit. So, as enrollments are (enroll_pipeline.go), notifications
// are bounded and batched:
//
//   - admission: at most a bound of them queued for or inside a write
//     transaction per instance; past it the answer is ErrNotifyBusy (503
//     with Retry-After), which WeChat Pay retries like any failure — the
//     writer never has a queue that only grows, and the enrollment batches
//     keep their turn on it (neither starves the other);
//   - on SQLite one worker applies every payment waiting (up to payBatchMax)
//     in one transaction, each under a savepoint of its own, so one
//     payment's failure rolls back only itself; a batch that cannot commit
//     is applied again one payment per transaction. On PostgreSQL, with
//     writers in parallel and two instances locking orders, each payment
//     keeps its own transaction (ApplyWeChatPayment).
//
// Exactly once does not depend on any of this: the ledger row of a payment
// is named by its transaction id, under the order's lock.

// ErrNotifyBusy answers a notification that arrives while this instance's
// notification write path is full: WeChat Pay sends it again.
var ErrNotifyBusy = &Error{Kind: KindUnavailable, Code: "busy", Message: "支付通知处理繁忙，请稍后重试", RetryAfter: 1}

// payBatchMax is the most payments one batch applies: as many as an
// enrollment batch (maxGroup). Batches of 16, so that a turn at SQLite's
// writer would last about as long as an enrollment batch's, measured worse
// for both beside the rush (docs/bench/2026-12-06-notify.md).
const payBatchMax = maxGroup

// payPipeline is the notification write path of one DB.
type payPipeline struct {
	mu     sync.Mutex
	closed bool
	// slots bounds the notifications queued for the writer (nil: none).
	slots chan struct{}
	queue atomic.Pointer[batcher[*payJob]]
}

// payJob is one notified payment waiting for its batch.
type payJob struct {
	p    WeChatPayment
	done chan payResult
}

type payResult struct {
	outcome string
	err     error
}

// LimitNotifyQueue bounds how many payment notifications may be queued for
// or inside a write transaction on this handle at once (0 = no bound); past
// it ApplyNotifiedPayment answers ErrNotifyBusy at once. Call it before
// serving.
func (db *DB) LimitNotifyQueue(n int) {
	if n <= 0 {
		db.pay.slots = nil
		return
	}
	db.pay.slots = make(chan struct{}, n)
}

// ApplyNotifiedPayment is ApplyWeChatPayment for a payment WeChat Pay
// notified: admitted under the bound (LimitNotifyQueue) and, on SQLite,
// applied in a batch with the others waiting.
func ApplyNotifiedPayment(ctx context.Context, db *DB, p WeChatPayment) (string, error) {
	if slots := db.pay.slots; slots != nil {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			return "", ErrNotifyBusy
		}
	}
	if db.Dialect != SQLite {
		return ApplyWeChatPayment(ctx, db, p)
	}
	q := db.pay.start(db)
	if q == nil {
		return "", errClosed
	}
	j := &payJob{p: p, done: make(chan payResult, 1)}
	if err := q.submit(ctx, j); err != nil {
		return "", err
	}
	// Once handed over, wait whatever ctx does: the payment may be applied.
	r := <-j.done
	return r.outcome, repanic(r.err)
}

// start starts db's batch worker unless it runs; nil once db is closed.
func (pp *payPipeline) start(db *DB) *batcher[*payJob] {
	if q := pp.queue.Load(); q != nil {
		return q
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if q := pp.queue.Load(); q != nil || pp.closed {
		return q
	}
	q := startBatcher(1, payBatchMax, db.runPayBatch)
	pp.queue.Store(q)
	return q
}

// close stops the batch worker after its current batch.
func (pp *payPipeline) close() {
	pp.mu.Lock()
	pp.closed = true
	q := pp.queue.Load()
	pp.mu.Unlock()
	q.close()
}

// runPayBatch applies jobs in one transaction, each under a savepoint; if
// the transaction fails as a whole, each job again in a transaction of its
// own.
func (db *DB) runPayBatch(jobs []*payJob) {
	res := make([]payResult, len(jobs))
	err := db.sharedTx(guarded(func(tx *gorm.DB) error {
		for i, j := range jobs {
			var outcome string
			err := tx.Transaction(func(sp *gorm.DB) error {
				var err error
				outcome, err = applyWeChatPayment(sp, j.p)
				return err
			})
			res[i] = payResult{outcome: outcome, err: err}
		}
		return nil
	}))
	if err != nil {
		// The batch failed (a panic included): each payment again in a
		// transaction of its own, so only the one at fault fails — a
		// notification that panics must not fail every payment batched
		// beside it on each of WeChat Pay's retries.
		for i, j := range jobs {
			outcome, err := applyAlone(db, j.p)
			res[i] = payResult{outcome: outcome, err: err}
		}
	}
	for i, j := range jobs {
		j.done <- res[i]
	}
}

// HoldNotifySlots takes n slots of the notification write path, as n
// notifications being applied would (tests of the bound), and answers the
// func that gives them back. The bound must be set (LimitNotifyQueue).
func (db *DB) HoldNotifySlots(n int) func() {
	slots := db.pay.slots
	for range n {
		slots <- struct{}{}
	}
	return func() {
		for range n {
			<-slots
		}
	}
}

// applyAlone applies one notified payment in its own transaction, a panic
// caught as a panicError (repanicked in the handler that waits for it).
func applyAlone(db *DB, p WeChatPayment) (outcome string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{v: v, stack: debug.Stack()}
		}
	}()
	return ApplyWeChatPayment(context.Background(), db, p)
}
