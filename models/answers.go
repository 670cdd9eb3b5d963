package models

import (
	"sync"
	"sync/atomic"
	"time"
)

// Answers is the one cache mechanism of kehou (what each cache holds, what
// retires it and how stale it may be: the table at the top of cache.go).

// defaultMaxAnswers bounds an Answers whose MaxEntries is 0.
const defaultMaxAnswers = 100_000

// Answers caches values built from the database (see the table above). It
// knows nothing of when an answer goes stale: each call says, through its
// fresh func, whether a held answer may still be served — typically its
// Version is the current one and its age under a TTL. The zero value is
// ready to use.
type Answers[K comparable, V any] struct {
	// MaxEntries bounds the answers kept (0: 100,000).
	MaxEntries int
	// MaxBytes bounds the total Size of the answers kept (0: no bound); an
	// answer over a quarter of it is served but not kept.
	MaxBytes int
	// Size measures an answer for MaxBytes.
	Size func(V) int

	mu    sync.Mutex
	m     map[K]*Answer[V]
	bytes int
}

// Answer is one cached answer, or one being built.
type Answer[V any] struct {
	// Version and At are what the answer was built at: the version noted
	// before its query, and the time.
	Version uint64
	At      time.Time
	// Value and Err are the build's result, set once ready is closed.
	Value V
	Err   error

	ready chan struct{}
	// prev is the answer this one replaces, offered while this one is
	// built (see Get). Guarded by the Answers' mu.
	prev    *Answer[V]
	size    int
	waiting atomic.Int32 // callers waiting for the build (tests)
}

// Fresh says whether answer a may be served now. rebuilding is true when
// a is the previous answer of a key whose new answer is being built: a
// cache that would rather serve a slightly older answer than wait says so
// then. Get asks it of an answer that may still be being built, whose
// Value is not set yet: a Fresh used with Get reads only Version and At
// (Peek and eviction ask it of built answers only).
type Fresh[V any] func(a *Answer[V], rebuilding bool) bool

func (a *Answer[V]) isReady() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// Get returns key's answer: the one held when fresh accepts it (waiting for
// its build if it is being built, or serving the previous answer meanwhile
// when fresh accepts that), else a new one from build, stamped version and
// now. Concurrent callers share one build; a failed build is not kept
// (each waiting caller then builds alone).
func (c *Answers[K, V]) Get(key K, version uint64, now time.Time, fresh Fresh[V], build func() (V, error)) (*Answer[V], error) {
	c.mu.Lock()
	a := c.m[key]
	if a != nil && fresh(a, false) {
		prev := a.prev
		c.mu.Unlock()
		if prev != nil && !a.isReady() && fresh(prev, true) {
			return prev, nil
		}
		a.waiting.Add(1)
		<-a.ready
		a.waiting.Add(-1)
		if a.Err == nil {
			return a, nil
		}
		own := &Answer[V]{Version: version, At: now, ready: make(chan struct{})}
		own.Value, own.Err = build()
		close(own.ready)
		return own, own.Err
	}
	next := c.start(key, version, now, a, fresh)
	c.mu.Unlock()
	v, err := build()
	c.finish(key, next, v, err, fresh)
	return next, err
}

// Fill builds key's answer unless a fresh one is held or one is being
// built; it never waits for another caller's build.
func (c *Answers[K, V]) Fill(key K, version uint64, now time.Time, fresh Fresh[V], build func() (V, error)) {
	c.mu.Lock()
	a := c.m[key]
	if a != nil && (!a.isReady() || fresh(a, false)) {
		c.mu.Unlock()
		return
	}
	next := c.start(key, version, now, a, fresh)
	c.mu.Unlock()
	v, err := build()
	c.finish(key, next, v, err, fresh)
}

// Peek returns key's answer when one is built, without error, and fresh;
// it never builds nor waits.
func (c *Answers[K, V]) Peek(key K, fresh Fresh[V]) (*Answer[V], bool) {
	c.mu.Lock()
	a := c.m[key]
	c.mu.Unlock()
	if a == nil || !a.isReady() || a.Err != nil || !fresh(a, false) {
		return nil, false
	}
	return a, true
}

// Put keeps v as key's answer, built at version and at.
func (c *Answers[K, V]) Put(key K, version uint64, at time.Time, v V) {
	c.mu.Lock()
	a := c.start(key, version, at, c.m[key], nil)
	c.mu.Unlock()
	c.finish(key, a, v, nil, nil)
}

// Delete drops key's answer.
func (c *Answers[K, V]) Delete(key K) {
	c.mu.Lock()
	if a := c.m[key]; a != nil {
		c.remove(key, a)
	}
	c.mu.Unlock()
}

// Len is the number of answers held.
func (c *Answers[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Bytes is the total Size of the answers held.
func (c *Answers[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Waiting is the number of callers waiting for key's answer to be built.
func (c *Answers[K, V]) Waiting(key K) int {
	c.mu.Lock()
	a := c.m[key]
	c.mu.Unlock()
	if a == nil {
		return 0
	}
	return int(a.waiting.Load())
}

// start puts a new answer under key in place of old (c.mu held).
func (c *Answers[K, V]) start(key K, version uint64, now time.Time, old *Answer[V], fresh Fresh[V]) *Answer[V] {
	if c.m == nil {
		c.m = map[K]*Answer[V]{}
	}
	next := &Answer[V]{Version: version, At: now, ready: make(chan struct{})}
	if old != nil {
		if old.isReady() && old.Err == nil {
			next.prev = old
		}
		c.remove(key, old)
	}
	c.m[key] = next
	c.evict(fresh)
	return next
}

// finish sets a's result, keeps it if it is worth keeping, and wakes its
// waiters.
func (c *Answers[K, V]) finish(key K, a *Answer[V], v V, err error, fresh Fresh[V]) {
	size := 0
	if err == nil && c.Size != nil {
		size = c.Size(v)
	}
	c.mu.Lock()
	a.Value, a.Err, a.prev = v, err, nil
	if c.m[key] == a {
		if err != nil || (c.MaxBytes > 0 && size > c.MaxBytes/4) {
			delete(c.m, key)
		} else {
			a.size = size
			c.bytes += size
			c.evict(fresh)
		}
	}
	c.mu.Unlock()
	close(a.ready)
}

// remove drops key's answer a (c.mu held).
func (c *Answers[K, V]) remove(key K, a *Answer[V]) {
	delete(c.m, key)
	c.bytes -= a.size
	a.size = 0
}

// evict brings the cache back under its bounds (c.mu held): first the
// answers fresh no longer accepts, then arbitrary ones down to three
// quarters of the bounds, so a full cache is not scanned on every
// insertion.
func (c *Answers[K, V]) evict(fresh Fresh[V]) {
	maxEntries := c.MaxEntries
	if maxEntries <= 0 {
		maxEntries = defaultMaxAnswers
	}
	over := func(frac int) bool {
		return len(c.m) > maxEntries*frac/4 || (c.MaxBytes > 0 && c.bytes > c.MaxBytes*frac/4)
	}
	if !over(4) {
		return
	}
	if fresh != nil {
		for k, a := range c.m {
			if a.isReady() && !fresh(a, false) {
				c.remove(k, a)
			}
		}
	}
	for k, a := range c.m { // map order: arbitrary victims
		if !over(3) {
			return
		}
		c.remove(k, a)
	}
}
