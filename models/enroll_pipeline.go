package models

import (
	"sync"
	"sync/atomic"
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
