package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"kehou/models"
)

// demoSessions generates the sessions of the plans' offerings as they were
// published — before the term started — and lists them by date up to today.
func demoSessions(ctx context.Context, db *models.DB, staff models.Actor, plans []demoTermPlan, today time.Time) (map[string][]models.SessionView, error) {
	out := map[string][]models.SessionView{}
	to := today.Format(time.DateOnly)
	for _, p := range plans {
		offs := append([]models.Offering{p.basic}, p.clubs...)
		offs = append(offs, p.lottery...)
		for _, o := range offs {
			if err := models.SyncSessions(ctx, db, o.ID, p.starts.Add(-24*time.Hour)); err != nil {
				return nil, fmt.Errorf("sessions of %s: %w", o.Name, err)
			}
			ss, err := models.FindOfferingSessions(ctx, db, staff, o.ID, p.starts.Format(time.DateOnly), to,
				models.Paging{Limit: models.MaxSessionsPage})
			if err != nil {
				return nil, fmt.Errorf("sessions of %s: %w", o.Name, err)
			}
			for _, s := range ss {
				out[s.Date] = append(out[s.Date], s)
			}
		}
	}
	return out, nil
}

// demoRollDay is what demoRolls is to do on a day of the term.
type demoRollDay struct {
	day   int
	clock time.Time // the simulated now: 19:00 that day, or now for today
	// withBasic: every school's base service has its rolls (the last week);
	// before, only fullSchool's.
	withBasic  bool
	fullSchool int64
	loop       bool // one of the daily loop's last two weeks
	// liveBasic: the base service lives the loop too (its last days);
	// liveDismiss: the clubs' dismissals go through the API's operation
	// (the loop's last week).
	liveBasic, liveDismiss bool
}

// demoRolls takes the roll of each of the day's sessions that has started
// by clock, as the school would that afternoon: leave filed beforehand
// stays leave, and a few children are absent, on leave or late. The clubs
// have their rolls every school day; so has the base service (nearly every
// child, every day) at fullSchool — school 1, the one the demo's school,
// teacher and family logins see — and at the other schools for the last
// week only (withBasic), which keeps the seed within seconds: their rolls
// are seen only as the bureau's rates. In the last two weeks (loop) each
// club's roll is taken through the API's operation and the rest of the
// daily loop happens too (demoRoll): absence alerts, late arrivals and,
// in the last week (liveDismiss), dismissals; the week before, the
// dismissals are written as history at the end of the day (nobody told). It
// answers the absences the school will correct the next morning. Before
// the loop a day's rolls are history, written in one transaction
// (models.WriteHistoryRolls): the same marks, nobody told.
func demoRolls(ctx context.Context, db *models.DB, staff demoStaff, sessions []models.SessionView, d demoRollDay, hist *demoHistory) ([]demoFix, error) {
	var due []models.SessionView
	for _, s := range sessions {
		if s.OfferingKind == models.KindBasic && !d.withBasic && s.SchoolID != d.fullSchool {
			continue
		}
		if s.Status == models.SessionScheduled && !d.clock.Before(s.StartsAt()) {
			due = append(due, s)
		}
	}
	var fixes []demoFix
	takes, err := demoTakeRolls(ctx, db, staff, due, d, &fixes, hist)
	if err != nil || len(takes) == 0 {
		return fixes, err
	}
	type answer struct {
		h   demoHistory
		fix []demoFix
		out []models.DismissalRecord
		err error
	}
	var left []models.HistoryRoll // the dismissals written as history
	err = demoEach(takes, 4, func(t demoTake) answer {
		var r answer
		r.fix, r.out, r.err = demoRoll(ctx, db, t, d.clock, &r.h)
		return r
	}, func(t demoTake, r answer) error {
		hist.Marks += r.h.Marks
		hist.Rolls += r.h.Rolls
		hist.Arrivals += r.h.Arrivals
		hist.Dismissals += r.h.Dismissals
		fixes = append(fixes, r.fix...)
		if len(r.out) > 0 {
			left = append(left, models.HistoryRoll{Session: t.s.Session, By: t.by, Dismissals: r.out,
				DismissedAt: demoRecorded(t.s)})
			hist.Dismissals += len(r.out)
		}
		if r.err != nil {
			return fmt.Errorf("roll of session %d: %w", t.s.ID, r.err)
		}
		return nil
	})
	if err != nil {
		return fixes, err
	}
	sort.Slice(left, func(i, j int) bool { return left[i].Session.ID < left[j].Session.ID })
	if err := models.WriteHistoryRolls(ctx, db, left); err != nil {
		return fixes, fmt.Errorf("dismissals of day %d: %w", d.day, err)
	}
	return fixes, nil
}

// demoTake is a session's roll as demoTakeRolls took it, for demoRoll.
type demoTake struct {
	s           models.SessionView
	dismissLive bool // its dismissals go through the API's operation
	by          models.Actor
	marked      time.Time
	recs        []models.MarkRecord
	grade       map[int64]int
	rng         *rand.Rand
}

// demoTakeRolls takes the roll of the due sessions: each session's roll
// as the API reads it (models.ReadHistoryRolls: the day's in two
// statements), the marks demoMarks decides, written for the whole day in
// one transaction (models.WriteHistoryRolls). On the daily loop's
// days (loop), for the sessions that live it, the absent children are
// left out of it: demoRoll marks them through the API's operation, which
// alerts their families, and goes on with the loop. The other sessions of
// those days (the base service's, before its last demoLiveBasicDays) get
// their dismissals written with the roll, and a few of their absences go
// to fixes for the next school day's corrections.
func demoTakeRolls(ctx context.Context, db *models.DB, staff demoStaff, due []models.SessionView, d demoRollDay, fixes *[]demoFix, hist *demoHistory) ([]demoTake, error) {
	day, clock, loop := d.day, d.clock, d.loop
	live := func(s models.SessionView) bool { return loop && (s.OfferingKind != models.KindBasic || d.liveBasic) }
	takes := make([]demoTake, 0, len(due))
	rolls := make([]models.HistoryRoll, 0, len(due))
	read, err := models.ReadHistoryRolls(ctx, db, due)
	if err != nil {
		return nil, fmt.Errorf("rolls of day %d: %w", day, err)
	}
	for i, s := range due {
		by := demoRollTaker(staff.of(s.SchoolID), s)
		roll := read[i]
		rng := rand.New(rand.NewPCG(uint64(s.ID), uint64(day)))
		recs, grade := demoMarks(roll, rng)
		if len(recs) == 0 {
			continue
		}
		t := demoTake{s: s, by: by, marked: demoMarkedAt(s, clock), recs: recs, grade: grade, rng: rng,
			dismissLive: s.OfferingKind == models.KindBasic || d.liveDismiss}
		hist.Marks += len(recs)
		hist.Rolls++
		h := models.HistoryRoll{Session: s.Session, By: by, At: t.marked, Marks: recs}
		if live(s) {
			takes = append(takes, t)
			h.Marks = make([]models.MarkRecord, 0, len(recs))
			for _, r := range recs {
				if r.Status != models.MarkAbsent {
					h.Marks = append(h.Marks, r)
				}
			}
		} else if recorded := demoRecorded(s); loop && !recorded.After(clock) {
			h.Dismissals, h.DismissedAt = demoDismissals(s, recs, grade, rng), recorded
			hist.Dismissals += len(h.Dismissals)
			for _, r := range recs {
				if r.Status == models.MarkAbsent && rng.IntN(9) == 0 {
					*fixes = append(*fixes, demoFix{school: s.SchoolID, session: s.ID, student: r.StudentID})
				}
			}
		}
		if len(h.Marks) > 0 {
			rolls = append(rolls, h)
		}
	}
	if err := models.WriteHistoryRolls(ctx, db, rolls); err != nil {
		return nil, fmt.Errorf("rolls of day %d: %w", day, err)
	}
	return takes, nil
}

// demoRollTaker is who takes session s's roll: the teacher its offering
// names, else staff (the school's admin, or the platform's account).
func demoRollTaker(staff models.Actor, s models.SessionView) models.Actor {
	if s.TeacherUserID != nil {
		return models.Actor{UserID: *s.TeacherUserID, Role: models.RoleTeacher, SchoolID: s.SchoolID}
	}
	return staff
}

// demoMarkedAt is when session s's roll is taken: ten minutes after it
// starts (or clock, if sooner).
func demoMarkedAt(s models.SessionView, clock time.Time) time.Time {
	if marked := s.StartsAt().Add(10 * time.Minute); marked.Before(clock) {
		return marked
	}
	return clock
}

// demoMarks decides each child's mark on roll: leave filed beforehand
// stays leave, and a few children are absent, on leave or late. It
// answers the marks and each child's grade.
func demoMarks(roll models.Roll, rng *rand.Rand) ([]models.MarkRecord, map[int64]int) {
	recs := make([]models.MarkRecord, 0, len(roll.Entries))
	grade := make(map[int64]int, len(roll.Entries))
	for _, e := range roll.Entries {
		st := models.MarkPresent
		switch x := rng.Float64(); {
		case e.Status != nil && *e.Status == models.MarkLeave:
			st = models.MarkLeave
		case x < 0.025:
			st = models.MarkAbsent
		case x < 0.040:
			st = models.MarkLeave
		case x < 0.050:
			st = models.MarkLate
		}
		recs = append(recs, models.MarkRecord{StudentID: e.StudentID, Status: st})
		grade[e.StudentID] = e.Grade
	}
	return recs, grade
}

// demoRoll goes on with the daily loop of a roll demoTakeRolls took: the
// absent children are marked through the API's operation (their families
// get the absence alert); one in three of them turns up twenty minutes
// later (marked late: the family hears "已到"); once the session has ended
// the children who came are dismissed (through the API's operation when
// t.dismissLive; else answered, for the day's history); and about one absent
// child in nine is an absence the school corrects the next school day (the
// fixes answered).
func demoRoll(ctx context.Context, db *models.DB, t demoTake, clock time.Time, hist *demoHistory) ([]demoFix, []models.DismissalRecord, error) {
	s, staff, marked, recs, grade, rng := t.s, t.by, t.marked, t.recs, t.grade, t.rng
	var absent []models.MarkRecord
	for _, r := range recs {
		if r.Status == models.MarkAbsent {
			absent = append(absent, r)
		}
	}
	if len(absent) > 0 {
		if _, err := models.MarkAttendance(ctx, db, staff, s.ID, absent, "", marked); err != nil {
			return nil, nil, err
		}
	}
	var fix []demoFix
	if arrived := marked.Add(20 * time.Minute); !arrived.After(clock) {
		// The children who turn up come together, and the teacher marks
		// them late in one PUT (each family hears "已到").
		var late []models.MarkRecord
		for i, r := range recs {
			if r.Status != models.MarkAbsent {
				continue
			}
			if rng.IntN(3) > 0 {
				if rng.IntN(6) == 0 {
					fix = append(fix, demoFix{school: s.SchoolID, session: s.ID, student: r.StudentID})
				}
				continue
			}
			late = append(late, models.MarkRecord{StudentID: r.StudentID, Status: models.MarkLate})
			recs[i].Status = models.MarkLate
		}
		if len(late) > 0 {
			if _, err := models.MarkAttendance(ctx, db, staff, s.ID, late, "", arrived); err != nil {
				return nil, nil, err
			}
			hist.Arrivals += len(late)
		}
	}
	// What the teacher recorded as each left is written here in one POST,
	// each child at the time they left (one transaction a session keeps
	// the seed quick), and each family hears once.
	recorded := demoRecorded(s)
	if recorded.After(clock) {
		return fix, nil, nil
	}
	out := demoDismissals(s, recs, grade, rng)
	if !t.dismissLive {
		return fix, out, nil
	}
	for rest := out; len(rest) > 0; {
		n := min(len(rest), models.MaxRollRecords)
		if _, err := models.RecordDismissal(ctx, db, staff, s.ID, rest[:n], "", recorded); err != nil {
			return nil, nil, err
		}
		hist.Dismissals += n
		rest = rest[n:]
	}
	return fix, nil, nil
}

// demoDismissals is how the children who came to session s left: in the
// quarter of an hour after the end, most fetched by a parent, some by the
// school bus, older children on their own.
func demoDismissals(s models.SessionView, recs []models.MarkRecord, grade map[int64]int, rng *rand.Rand) []models.DismissalRecord {
	var out []models.DismissalRecord
	for _, r := range recs {
		if r.Status != models.MarkPresent && r.Status != models.MarkLate {
			continue
		}
		by := models.DismissedGuardian
		switch x := rng.Float64(); {
		case x < 0.10:
			by = models.DismissedBus
		case x < 0.12:
			by = models.DismissedOther
		case x < 0.27 && grade[r.StudentID] >= 4:
			by = models.DismissedSelf
		}
		left := s.EndsAt().Add(time.Duration(rng.IntN(16)) * time.Minute)
		out = append(out, models.DismissalRecord{StudentID: r.StudentID, By: by, At: &left})
	}
	return out
}

// demoRecorded is when the teacher records session s's dismissals: twenty
// minutes after it ends, once the children have left.
func demoRecorded(s models.SessionView) time.Time { return s.EndsAt().Add(20 * time.Minute) }
