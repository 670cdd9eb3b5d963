package models

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"gorm.io/gorm"
)

// Group commit on the single SQLite writer. In an enrollment rush the
// writer is the bottleneck: each enrollment paid for its own BEGIN and
// COMMIT (the WAL write of every page it touched) and for handing the one
// connection to the next goroutine. GroupTx instead queues the work for one
// writer goroutine, which runs every enrollment waiting at that moment in a
// single transaction, each inside its own savepoint, and commits once. An
// enrollment that is refused (a domain error: full, already enrolled…) rolls
// back to its savepoint and leaves the others untouched; anything else (an
// engine error, a failed commit, a panic) rolls the whole group back and the
// writer runs each member again in a transaction of its own, so every caller
// gets its own honest answer and nothing is half-written. A caller is
// answered only after the transaction holding its work committed.

// maxGroup bounds the enrollments committed together.
const maxGroup = 64

var errClosed = errors.New("models: database closed")

type groupReq struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	done chan error
}

// batcher hands requests to workers; each worker takes every request
// waiting at that moment (up to max) and runs them as one batch.
type batcher[R any] struct {
	reqs chan R // unbuffered: waiting senders are the queue
	quit chan struct{}
	wg   sync.WaitGroup
	stop sync.Once
}

func startBatcher[R any](workers, max int, run func([]R)) *batcher[R] {
	b := &batcher[R]{reqs: make(chan R), quit: make(chan struct{})}
	for range workers {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			batch := make([]R, 0, max)
			for {
				select {
				case r := <-b.reqs:
					batch = append(batch[:0], r)
				case <-b.quit:
					return
				}
			drain:
				for len(batch) < max {
					select {
					case r := <-b.reqs:
						batch = append(batch, r)
					default:
						break drain
					}
				}
				run(batch)
			}
		}()
	}
	return b
}

// submit hands r to a worker, unless the batcher is closed or ctx ends
// first.
func (b *batcher[R]) submit(ctx context.Context, r R) error {
	select {
	case b.reqs <- r:
		return nil
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the workers after their current batch.
func (b *batcher[R]) close() {
	if b != nil {
		b.stop.Do(func() { close(b.quit) })
		b.wg.Wait()
	}
}

// panicError carries a panic out of the writer goroutine to the caller,
// which panics again there.
type panicError struct {
	v     any
	stack []byte
}

func (p panicError) Error() string { return fmt.Sprintf("panic: %v\n%s", p.v, p.stack) }

func (db *DB) startGroupCommit() {
	db.group = startBatcher(1, maxGroup, db.runGroup)
}

// GroupTx runs fn in a write transaction like Tx; on SQLite it may share
// that transaction (and its commit) with other GroupTx callers, fn running
// in a savepoint of its own. fn may run more than once (after a failed
// group) and must not keep state across runs. On PostgreSQL it is Tx with
// retries on deadlock and serialization failures.
func (db *DB) GroupTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if db.group == nil {
		return retryTx(ctx, db, fn)
	}
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := db.group.submit(ctx, r); err != nil {
		return err
	}
	// Once handed over, wait for the answer whatever ctx does: the work
	// may already be committed.
	return repanic(<-r.done)
}

// repanic panics again, in the caller's goroutine, with a panic a batch
// worker caught; any other err is returned.
func repanic(err error) error {
	var p panicError
	if errors.As(err, &p) {
		panic(p.v)
	}
	return err
}

// runGroup runs one group: together, or one by one when the group failed.
func (db *DB) runGroup(batch []*groupReq) {
	errs := make([]error, len(batch))
	err := db.Tx(context.Background(), func(tx *gorm.DB) error {
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			if errs[i] = inSavepoint(tx, r.fn); errs[i] != nil && !isRefusal(errs[i]) {
				return errs[i]
			}
		}
		return nil
	})
	if err != nil {
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] == nil {
				errs[i] = db.Tx(r.ctx, guarded(r.fn))
			}
		}
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// inSavepoint runs fn inside a savepoint of tx, rolled back when fn fails,
// and released either way. (GORM's nested transactions never release
// theirs: a group of 64 then stacks 64 savepoints, and SQLite journals a
// page again for every level it is changed in.)
func inSavepoint(tx *gorm.DB, fn func(tx *gorm.DB) error) error {
	r := rawOf(tx)
	if _, err := r.exec("SAVEPOINT grp"); err != nil {
		return err
	}
	err := guarded(fn)(tx)
	if err != nil {
		if _, rerr := r.exec("ROLLBACK TO grp"); rerr != nil {
			// Not a refusal any more (%v, not %w): the group must fail.
			return fmt.Errorf("models: rollback to savepoint: %v (after: %v)", rerr, err)
		}
	}
	if _, rerr := r.exec("RELEASE grp"); rerr != nil {
		return fmt.Errorf("models: release savepoint: %v (after: %v)", rerr, err)
	}
	return err
}

// guarded turns a panic of fn into a panicError.
func guarded(fn func(tx *gorm.DB) error) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = panicError{v: v, stack: debug.Stack()}
			}
		}()
		return fn(tx)
	}
}

// isRefusal reports whether err is a domain answer (the work was refused and
// its savepoint rolled back) rather than a failure of the transaction.
func isRefusal(err error) bool {
	var me *Error
	var ve *ValidationError
	var re replayError
	return errors.As(err, &me) || errors.As(err, &ve) || errors.As(err, &re)
}
