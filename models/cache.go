package models

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Caches of the rush paths. In an enrollment rush every parent sends the
// same few reads again and again (whose children they are, what an
// offering is, whether it is sold out, the school's list), and bureaus
// reload the same dashboards. Every such cache is an Answers: one build
// per key at a time, each answer stamped with the version of what it was
// built from and the time, served while that version has not moved and
// its age is under a TTL, bounded in entries (and bytes). The version is a
// counter on DB, moved after a write of this process commits; the TTL
// bounds what another instance on the same PostgreSQL can change unseen.
// No cache decides tenancy: callers ask the policy functions first
// (FindStudentFor, canSeeSchoolOfferings, the stats scope checks).
//
//	cache            holds (key → value)                  retired by (version)            stale at most
//	children         parent user → linked students          DB.links: this process's        childrenTTL (30 s, less a random
//	                 (id, school, name, grade, active)       writes to students or links     quarter); a child not found is
//	                                                         (linksChanged)                  looked up; the batch re-reads the link
//	offerings        offering id → offering and its term    DB.offers: writeOfferings       offeringTTL (1 s); the batch re-reads
//	                                                                                         every fact a rule or a seat needs
//	sold out         offering id → sold out? (offering,     DB.offers                       soldOutTTL (1 s)
//	                 students with a row in it)
//	offering lists   (school, filter) → a parents' list      DB.Generation: any write        handlers.OfferingListTTL (1 s);
//	(handlers)       as JSON (and gzipped)                   transaction of this process     a write retires it after
//	                                                                                         OfferingListWriteLag (its writer: at once)
//	dashboards       (endpoint, scope, parameters,          SnapshotVersion: ComputeStats   API.StatsCacheTTL (5 s)
//	(handlers)       caller's scope) → JSON
//	region paths     region id → materialised path          never: a path never changes     — (RegionPath)
//
// Only positive facts are cached where a stale answer would refuse someone
// (a child linked a moment ago is looked up in the database), and the
// enrollment transaction reads again everything that decides a seat.

const (
	// childrenTTL bounds how long a parent's linked children are trusted
	// across instances (this instance drops them at once): well inside the
	// access token's life, which bounds how long any other change of a
	// parent's rights (a role, a school) can go unseen.
	childrenTTL = 30 * time.Second
	// offeringTTL bounds how long an offering's terms (window, grades,
	// capacity, term limits) are trusted by the enrollment pre-checks.
	offeringTTL = time.Second
	// soldOutTTL bounds how long "sold out" is answered without the writer.
	soldOutTTL = time.Second
	// defaultMaxAnswers bounds an Answers whose MaxEntries is 0.
	defaultMaxAnswers = 100_000
)

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
// then.
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

// caches are the caches and change counters of a DB (the table above).
type caches struct {
	// links moves after this process writes students or guardian links;
	// offers after it writes an offering or frees a seat (writeOfferings);
	// snapshots after a stats run wrote snapshots (ComputeStats).
	// Enrollments never move offers: they only take seats, which no
	// cached fact depends on.
	links, offers, snapshots atomic.Uint64

	// regionPaths maps a region id to its materialised path (RegionPath).
	regionPaths sync.Map

	children  Answers[int64, childrenAnswer]
	offerings Answers[int64, offeringAnswer]
	soldOut   Answers[int64, soldOutFacts]
}

type childrenAnswer struct {
	// until is when the answer expires: childrenTTL after its query, less
	// up to a quarter at random, so the children of parents who all came
	// at once (the rush's first minute) are not all read again at once.
	until time.Time
	kids  []Student
}

type offeringAnswer struct {
	o Offering
	t Term
}

type soldOutFacts struct {
	full bool
	o    Offering
	// students have a row (any status) in the offering: their answer may be
	// "already enrolled" or an Idempotency-Key replay, not "full".
	students map[int64]struct{}
}

// within is the Fresh of the caches whose answers live ttl at version.
func within[V any](version uint64, now time.Time, ttl time.Duration) Fresh[V] {
	return func(a *Answer[V], _ bool) bool { return a.Version == version && now.Sub(a.At) < ttl }
}

// Forget drops every cached fact of this handle: for writes made behind its
// back (SQL run by hand, tests that change rows directly).
func (db *DB) Forget() {
	db.linksChanged()
	db.offersChanged()
}

// linksChanged retires every parent's cached children: called after a
// write of students or guardian links has ended (committed or not).
func (db *DB) linksChanged() { db.cache.links.Add(1) }

// writeOfferings runs fn in a write transaction (retryTx) and then retires
// every cached fact about offerings (the offers version): the one way to
// write an offering or free a seat, so no writer can forget it.
func (db *DB) writeOfferings(ctx context.Context, fn func(tx *gorm.DB) error) error {
	defer db.offersChanged()
	return retryTx(ctx, db, fn)
}

func (db *DB) offersChanged() { db.cache.offers.Add(1) }

// SnapshotVersion is the number of snapshot writes this process has
// finished on db: a dashboard answer read from the snapshots while it stays
// the same has not been replaced by a write of this process (writes by
// other instances are bounded by the dashboards' TTL).
func SnapshotVersion(db *DB) uint64 { return db.cache.snapshots.Load() }

// snapshotsWritten moves db's snapshot version; called after a write to
// stat_snapshots has ended, committed or not.
func (db *DB) snapshotsWritten() { db.cache.snapshots.Add(1) }

// linkedChild finds the child of parent userID that match accepts, looking
// first among the cached children and, when none is accepted there, in the
// database (which refreshes the cache).
func (db *DB) linkedChild(ctx context.Context, userID int64, match func(Student) bool) (Student, bool, error) {
	ver := db.cache.links.Load()
	now := time.Now()
	fresh := func(a *Answer[childrenAnswer], _ bool) bool { return a.Version == ver && now.Before(a.Value.until) }
	if a, ok := db.cache.children.Peek(userID, fresh); ok {
		for _, s := range a.Value.kids {
			if match(s) {
				return s, true, nil
			}
		}
	}
	kids, err := db.loadChildren(ctx, userID)
	if err != nil {
		return Student{}, false, err
	}
	if len(kids) > 0 {
		until := now.Add(childrenTTL - rand.N(childrenTTL/4))
		db.cache.children.Put(userID, ver, now, childrenAnswer{until: until, kids: kids})
	} else {
		db.cache.children.Delete(userID)
	}
	for _, s := range kids {
		if match(s) {
			return s, true, nil
		}
	}
	return Student{}, false, nil
}

// loadChildren reads the students linked to parent userID: the fields the
// scope checks and enrollment rules use, through database/sql (it runs
// once per parent in a rush, and GORM's reflection cost more than the
// query).
func (db *DB) loadChildren(ctx context.Context, userID int64) ([]Student, error) {
	var kids []Student
	err := rawOf(db.Read(ctx)).each(`SELECT s.id, s.school_id, s.name, s.grade, s.active FROM parent_students ps
		JOIN students s ON s.id = ps.student_id WHERE ps.user_id = ? ORDER BY s.id`, []any{userID}, func(rows *sql.Rows) error {
		var s Student
		if err := rows.Scan(&s.ID, &s.SchoolID, &s.Name, &s.Grade, &s.Active); err != nil {
			return err
		}
		kids = append(kids, s)
		return nil
	})
	return kids, err
}

// cachedOffering is findOfferingWithTerm through the offerings cache. Its
// counters may be stale: callers decide nothing on them.
func (db *DB) cachedOffering(ctx context.Context, id int64) (Offering, Term, error) {
	ver, now := db.cache.offers.Load(), time.Now()
	a, err := db.cache.offerings.Get(id, ver, now, within[offeringAnswer](ver, now, offeringTTL), func() (offeringAnswer, error) {
		o, t, err := findOfferingWithTerm(ctx, db, id)
		return offeringAnswer{o: o, t: t}, err
	})
	if err != nil {
		return Offering{}, Term{}, err
	}
	return a.Value.o, a.Value.t, nil
}

// soldOutAnswer answers ErrFull, without the writer and without a query,
// when a parent enrolls a linked child into an offering known to be sold
// out with no waitlist, and everything else the answer depends on is
// known: the child is of the offering's school and active, and the
// offering open to it (checkStudent, checkOpen), and the child has no row
// in the offering (else the answer may be "already enrolled" or an
// Idempotency-Key replay). It answers nil — decide the normal way — in
// every other case. "full" comes before the child's own limits here (max
// clubs, overlapping clubs): a club that is sold out is the answer a
// parent can act on.
func (db *DB) soldOutAnswer(ctx context.Context, in NewEnrollment, now time.Time) error {
	if in.Actor.Role != RoleParent {
		return nil
	}
	ver := db.cache.offers.Load()
	a, ok := db.cache.soldOut.Peek(in.OfferingID, within[soldOutFacts](ver, time.Now(), soldOutTTL))
	if !ok || !a.Value.full {
		return nil
	}
	if _, has := a.Value.students[in.StudentID]; has {
		return nil
	}
	st, ok, err := db.linkedChild(ctx, in.Actor.UserID, func(s Student) bool { return s.ID == in.StudentID })
	if err != nil || !ok {
		return nil
	}
	if checkStudent(st, a.Value.o) != nil || checkOpen(st, a.Value.o, now, false) != nil {
		return nil
	}
	return ErrFull
}

// noteSoldOut learns whether offering id is sold out, as the database
// says (published, first come first served or drawn, no waitlist, every
// seat taken), with the students that have a row in it: called when an
// enrollment was refused as full. Concurrent callers share one query.
func (db *DB) noteSoldOut(ctx context.Context, id int64) {
	ver, now := db.cache.offers.Load(), time.Now()
	db.cache.soldOut.Fill(id, ver, now, within[soldOutFacts](ver, now, soldOutTTL), func() (soldOutFacts, error) {
		var o Offering
		if err := db.Read(ctx).Raw("SELECT * FROM offerings WHERE id = ?", id).Scan(&o).Error; err != nil || o.ID == 0 {
			return soldOutFacts{}, err
		}
		if o.Status != OfferingPublished || isApplication(o) || o.Waitlist || o.EnrolledCount < o.Capacity {
			return soldOutFacts{}, nil
		}
		limit := 2*o.Capacity + 200
		var ids []int64
		if err := db.Read(ctx).Raw("SELECT student_id FROM enrollments WHERE offering_id = ? LIMIT ?", id, limit).
			Scan(&ids).Error; err != nil || len(ids) >= limit {
			return soldOutFacts{}, err
		}
		students := make(map[int64]struct{}, len(ids))
		for _, s := range ids {
			students[s] = struct{}{}
		}
		return soldOutFacts{full: true, o: o, students: students}, nil
	})
}
