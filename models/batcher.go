package models

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"gorm.io/gorm"
)

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
