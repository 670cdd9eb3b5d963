package models

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// enrollPipeline is the write path of enrollments on one DB: admission (a
// bounded number of enrollments queued or inside a transaction) and the
// batch workers that decide and write them (enroll_batch.go). The server
// starts it with its bound (DB.StartEnrollments); a command that enrolls
// (the demo seed) starts it, unbounded, with its first enrollment; a DB
// opened by a command that never enrolls (migrate, backup, user add) has
// no workers at all.
type enrollPipeline struct {
	mu     sync.Mutex // serialises starting and closing
	closed bool
	// slots bounds the enrollments queued for the writer (see
	// LimitEnrollQueue); nil means no bound.
	slots chan struct{}
	// queue hands enrollments to the batch workers; nil until started.
	queue atomic.Pointer[batcher[*enrollJob]]
}

// StartEnrollments starts the enrollment write path of db ahead of the
// first enrollment, as the server does: its batch workers (one on SQLite's
// single writer, two on PostgreSQL) and admission bounded to queueLimit
// enrollments (0: no bound; see LimitEnrollQueue). Close stops it.
// Starting it again only changes the bound.
func (db *DB) StartEnrollments(queueLimit int) {
	db.enroll.start(db)
	db.LimitEnrollQueue(queueLimit)
}

// start starts db's batch workers unless they run; nil once db is closed.
func (p *enrollPipeline) start(db *DB) *batcher[*enrollJob] {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q := p.queue.Load(); q != nil || p.closed {
		return q
	}
	q := startBatcher(enrollBatchWorkers(db.Dialect), maxGroup, func(b []*enrollJob) { db.runEnrollBatch(b) })
	p.queue.Store(q)
	return q
}

// LimitEnrollQueue bounds how many enrollments may be queued for or inside
// the write transaction on this handle at once (0 = no bound). Past the
// bound, Enroll answers ErrBusy at once instead of queueing: in a rush the
// writer stays saturated by the queue it has, and everyone else learns in
// microseconds to retry, rather than waiting seconds in a queue that only
// grows. Call it before serving.
func (db *DB) LimitEnrollQueue(n int) {
	if n <= 0 {
		db.enroll.slots = nil
		return
	}
	db.enroll.slots = make(chan struct{}, n)
}

// EnrollQueueDefault is the default bound of LimitEnrollQueue: two full
// batches of the write path (on SQLite one batch committing and the next
// gathering; on PostgreSQL one per batch worker), 128 either way.
func (db *DB) EnrollQueueDefault() int {
	return max(2, enrollBatchWorkers(db.Dialect)) * maxGroup
}

// AdmitEnroll takes a slot of the enrollment write path, as Enroll does for
// each enrollment, or answers ErrBusy when none is free. The returned func
// gives the slot back.
func (db *DB) AdmitEnroll() (func(), error) { return db.enroll.admit() }

func (p *enrollPipeline) admit() (func(), error) {
	slots := p.slots
	if slots == nil {
		return func() {}, nil
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	default:
		return nil, ErrBusy
	}
}

// run queues j for a batch of db (starting the workers on first use) and
// waits for its answer.
func (p *enrollPipeline) run(db *DB, j *enrollJob) (Enrollment, error) {
	q := p.queue.Load()
	if q == nil {
		if q = p.start(db); q == nil {
			return Enrollment{}, errClosed
		}
	}
	j.done = make(chan enrollResult, 1)
	if err := q.submit(j.ctx, j); err != nil {
		return Enrollment{}, err
	}
	// Once handed over, wait whatever ctx does: the work may be committed.
	r := <-j.done
	return r.e, repanic(r.err)
}

// close stops the batch workers after their current batch; none start
// after it.
func (p *enrollPipeline) close() {
	p.mu.Lock()
	p.closed = true
	q := p.queue.Load()
	p.mu.Unlock()
	q.close()
}

var errClosed = errors.New("models: database closed")

// batcher hands requests to workers; each worker takes every request
// waiting at that moment (up to max) and runs them as one batch (the
// enrollment batches, enroll_batch.go).
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

// repanic panics again, in the caller's goroutine, with a panic a batch
// worker caught; any other err is returned.
func repanic(err error) error {
	var p panicError
	if errors.As(err, &p) {
		panic(p.v)
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
