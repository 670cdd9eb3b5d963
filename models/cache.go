package models

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Caches of the rush paths. In an enrollment rush every parent sends the
// same few reads again and again (whose children they are, what an
// offering is, whether it is sold out, the school's list), and bureaus
// reload the same dashboards. Every such cache is an Answers (answers.go):
// one build per key at a time, each answer stamped with the version of what
// it was built from and the time, served while that version has not moved
// and its age is under a TTL, bounded in entries (and bytes). The version is a
// counter on DB, moved after a write of this process commits; the TTL
// bounds what another instance on the same PostgreSQL can change unseen.
// No cache decides tenancy: callers ask the policy functions first
// (FindStudentFor, canSeeSchoolOfferings, the stats scope checks).
//
//	cache            holds (key → value)                  retired by (version)            stale at most
//	children         parent user → linked students          DB.links: this process's        a removal: LinkPoll (250 ms), when
//	                 (id, school, name, grade, active)       writes to students or links     syncLinks reads link_version; the
//	                                                         (linksChanged), and another     entry ages out after childrenTTL (30 s,
//	                                                         instance's removal (syncLinks)  less a random quarter); a child not
//	                                                                                         found is looked up; the batch
//	                                                                                         re-reads the link
//	offerings        offering id → offering and its term    DB.offers: the end (DB.Tx) of   offeringTTL (1 s); the batch re-reads
//	                                                         a transaction that freed a      every fact a rule or a seat needs
//	                                                         seat (freeSeats marks it,
//	                                                         whoever called) or wrote an
//	                                                         offering (writeOfferings)
//	sold out         offering id → sold out? (offering,     DB.offers, as above: every      soldOutTTL (1 s)
//	                 students with a row in it)              freed seat goes through
//	                                                         freeSeats (a withdrawal, a
//	                                                         cancellation, an expired hold,
//	                                                         the lottery's losers)
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
)

// caches are the caches and change counters of a DB (the table above).
type caches struct {
	// links moves after this process writes students or guardian links;
	// offers after a transaction that freed a seat (freeSeats, seats.go:
	// a withdrawal, a cancellation, the lottery, an expired hold) or wrote
	// an offering (writeOfferings) ends (offeringsChanged, retired by DB.Tx
	// whoever called); snapshots after a stats run wrote snapshots
	// (ComputeStats). Taking a seat does not move offers: no cached fact
	// becomes wrong when a seat is taken.
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
		if err := scanOne(db.Read(ctx).Raw("SELECT * FROM offerings WHERE id = ?", id), &o); err != nil {
			return soldOutFacts{}, ignoreNotFound(err)
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
