package models

// ErrBusy answers an enrollment that arrives while the write path already
// has as many enrollments queued as it may: 429 (the server is healthy and
// shedding load, not failing), and the client retries after RetryAfter
// seconds. Nothing was written.
var ErrBusy = &Error{Kind: KindRateLimited, Code: "busy", Message: "当前报名人数过多，请稍后重试", RetryAfter: 1}

// LimitEnrollWriters bounds how many enrollments may be queued for or inside
// the write transaction on this handle at once (0 = no bound). Past the
// bound, Enroll answers ErrBusy at once instead of queueing: in a rush the
// writer stays saturated by the queue it has, and everyone else learns in
// microseconds to retry, rather than waiting seconds in a queue that only
// grows. Call it before serving.
func (db *DB) LimitEnrollWriters(n int) {
	if n <= 0 {
		db.enrollSlots = nil
		return
	}
	db.enrollSlots = make(chan struct{}, n)
}

// AdmitEnroll takes a slot of the enrollment write path, as Enroll does for
// each enrollment, or answers ErrBusy when none is free. The returned func
// gives the slot back.
func (db *DB) AdmitEnroll() (func(), error) {
	if db.enrollSlots == nil {
		return func() {}, nil
	}
	select {
	case db.enrollSlots <- struct{}{}:
		return func() { <-db.enrollSlots }, nil
	default:
		return nil, ErrBusy
	}
}
