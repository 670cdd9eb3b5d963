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
// same few reads again and again: whose children they are, what an offering
// is, whether it is sold out. Each cache entry notes a version before its
// query and is trusted only while that version has not moved and its age is
// under a TTL:
//
//   - links moves after every write of this process to students or
//     parent_students (binding, phone binding, roster import);
//   - offers moves after every write of this process that can change an
//     offering or free a seat (withdrawal, offering update, publication,
//     cancellation, lottery draw). Enrollments never move it: they only take
//     seats, which no cached fact depends on.
//
// The TTL bounds what another instance on the same PostgreSQL can change
// unseen. Only positive facts are cached where a stale answer would refuse
// someone (a child linked a moment ago is looked up in the database), and
// the write transaction re-checks everything that decides a seat.

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
	// maxCacheEntries bounds each cache; a full one is emptied.
	maxCacheEntries = 100_000
)

type childrenEntry struct {
	ver uint64
	// until is when the entry expires: childrenTTL after its query, less
	// up to a quarter at random, so the children of parents who all came
	// at once (the rush's first minute) are not all read again at once.
	until time.Time
	kids  []Student
}

type offeringEntry struct {
	ver uint64
	at  time.Time
	o   Offering
	t   Term
}

type soldOutEntry struct {
	ver uint64
	at  time.Time
	o   Offering
	// students have a row (any status) in the offering: their answer may be
	// "already enrolled" or an Idempotency-Key replay, not "full".
	students map[int64]struct{}
}

type caches struct {
	links  atomic.Uint64
	offers atomic.Uint64

	mu        sync.RWMutex
	children  map[int64]childrenEntry // by parent user id
	offerings map[int64]offeringEntry
	soldOut   map[int64]soldOutEntry
	building  map[int64]bool // sold-out entries being built
}

// Forget drops every cached fact of this handle: for writes made behind its
// back (SQL run by hand, tests that change rows directly).
func (db *DB) Forget() {
	db.linksChanged()
	db.offersChanged()
}

// writeOfferings runs fn in a write transaction (retryTx) and then retires
// every cached fact about offerings (the offers version): the one way to
// write an offering or free a seat, so no writer can forget it.
func (db *DB) writeOfferings(ctx context.Context, fn func(tx *gorm.DB) error) error {
	defer db.offersChanged()
	return retryTx(ctx, db, fn)
}

func (db *DB) linksChanged()  { db.cache.links.Add(1) }
func (db *DB) offersChanged() { db.cache.offers.Add(1) }

// put stores v under k in *m (made on first use), emptying a full map.
func put[V any](m *map[int64]V, k int64, v V) {
	if *m == nil || len(*m) >= maxCacheEntries {
		*m = map[int64]V{}
	}
	(*m)[k] = v
}

// linkedChild finds the child of parent userID that match accepts, looking
// first among the cached children and, when none is accepted there, in the
// database (which refreshes the cache).
func (db *DB) linkedChild(ctx context.Context, userID int64, match func(Student) bool) (Student, bool, error) {
	ver := db.cache.links.Load()
	c := &db.cache
	c.mu.RLock()
	e, ok := c.children[userID]
	c.mu.RUnlock()
	if ok && e.ver == ver && time.Now().Before(e.until) {
		for _, s := range e.kids {
			if match(s) {
				return s, true, nil
			}
		}
	}
	at := time.Now()
	kids, err := db.loadChildren(ctx, userID)
	if err != nil {
		return Student{}, false, err
	}
	c.mu.Lock()
	if len(kids) > 0 {
		until := at.Add(childrenTTL - rand.N(childrenTTL/4))
		put(&c.children, userID, childrenEntry{ver: ver, until: until, kids: kids})
	} else {
		delete(c.children, userID)
	}
	c.mu.Unlock()
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

// cachedOffering is findOfferingWithTerm through the offering cache. Its
// counters may be stale: callers decide nothing on them.
func (db *DB) cachedOffering(ctx context.Context, id int64) (Offering, Term, error) {
	ver := db.cache.offers.Load()
	c := &db.cache
	c.mu.RLock()
	e, ok := c.offerings[id]
	c.mu.RUnlock()
	if ok && e.ver == ver && time.Since(e.at) < offeringTTL {
		return e.o, e.t, nil
	}
	at := time.Now()
	o, t, err := findOfferingWithTerm(ctx, db, id)
	if err != nil {
		return o, t, err
	}
	c.mu.Lock()
	put(&c.offerings, id, offeringEntry{ver: ver, at: at, o: o, t: t})
	c.mu.Unlock()
	return o, t, nil
}

// soldOutAnswer answers ErrFull, without the writer and without a query,
// when a parent enrolls a linked child into an offering known to be sold
// out with no waitlist, and everything else the answer depends on is
// known: the child is of the offering's school, active and of an eligible
// grade, the window is open, and the child has no row in the offering (else
// the answer may be "already enrolled" or an Idempotency-Key replay). It
// answers nil — decide the normal way — in every other case. "full" comes
// before the child's own limits here (max clubs, overlapping clubs): a club
// that is sold out is the answer a parent can act on.
func (db *DB) soldOutAnswer(ctx context.Context, in NewEnrollment, now time.Time) error {
	if in.Actor.Role != RoleParent {
		return nil
	}
	ver := db.cache.offers.Load()
	c := &db.cache
	c.mu.RLock()
	e, ok := c.soldOut[in.OfferingID]
	c.mu.RUnlock()
	if !ok || e.ver != ver || time.Since(e.at) >= soldOutTTL {
		return nil
	}
	if _, has := e.students[in.StudentID]; has {
		return nil
	}
	st, ok, err := db.linkedChild(ctx, in.Actor.UserID, func(s Student) bool { return s.ID == in.StudentID })
	if err != nil || !ok {
		return nil
	}
	o := e.o
	if st.SchoolID != o.SchoolID || !st.Active || st.Grade < 1 || st.Grade > 9 || o.Grades&(1<<st.Grade) == 0 ||
		now.Before(o.EnrollOpensAt) || !now.Before(o.EnrollClosesAt) {
		return nil
	}
	return ErrFull
}

// noteSoldOut records offering id as sold out when the database says it is
// (published, first come first served or drawn, no waitlist, every seat
// taken), with the students that have a row in it.
func (db *DB) noteSoldOut(ctx context.Context, id int64) {
	ver := db.cache.offers.Load()
	c := &db.cache
	c.mu.Lock()
	if e, ok := c.soldOut[id]; c.building[id] || (ok && e.ver == ver && time.Since(e.at) < soldOutTTL) {
		c.mu.Unlock()
		return
	}
	if c.building == nil {
		c.building = map[int64]bool{}
	}
	c.building[id] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.building, id)
		c.mu.Unlock()
	}()
	at := time.Now()
	var o Offering
	if err := db.Read(ctx).Raw("SELECT * FROM offerings WHERE id = ?", id).Scan(&o).Error; err != nil || o.ID == 0 {
		return
	}
	if o.Status != OfferingPublished || isApplication(o) || o.Waitlist || o.EnrolledCount < o.Capacity {
		return
	}
	limit := 2*o.Capacity + 200
	var ids []int64
	if err := db.Read(ctx).Raw("SELECT student_id FROM enrollments WHERE offering_id = ? LIMIT ?", id, limit).
		Scan(&ids).Error; err != nil || len(ids) >= limit {
		return
	}
	students := make(map[int64]struct{}, len(ids))
	for _, s := range ids {
		students[s] = struct{}{}
	}
	c.mu.Lock()
	put(&c.soldOut, id, soldOutEntry{ver: ver, at: at, o: o, students: students})
	c.mu.Unlock()
}
