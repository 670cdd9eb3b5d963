package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"kehou/models"
)

// demoLoopDays is how many of the last days of the demo term show the whole
// daily loop — leave, late arrivals after an absence alert, dismissals,
// corrections — beside the rolls every day has: the families whose parents
// have accounts by then (they log in to answer the survey, which opens two
// weeks before today) are the ones who file leave and get messages.
const demoLoopDays = 14

// demoLiveDismissDays is how many of the last days have the clubs'
// dismissals go through the API's operation (each family told "已离校");
// the loop's days before them have theirs written as history at the end
// of the day, which keeps the seed within seconds (a third of a second:
// one transaction a club session).
const demoLiveDismissDays = 7

// demoLiveBasicDays is how many of the last school days show the daily loop of
// the base service too (nearly every child, every day: its rolls and
// dismissals on the days before are history, written as a day's rows at
// once, which keeps the seed within seconds).
const demoLiveBasicDays = 1

// demoSchoolDays are the days whose base service had reached by now the
// moment at answers (its start, or when its dismissals are recorded),
// newest first: at one school at least, or, with every, at all of them.
// The daily loop's windows count back from the last school day (any
// school's start), not from today: counted from a Monday morning, "the
// last two weeks" began on a Tuesday and the week before last's Monday had
// no loop, and "the last week" lost its Monday (the families never had its
// "已离校"). The base service's live days are the last whose dismissals are
// recorded at every school (counted in calendar days, a demo built on a
// Monday morning played the weekend live; counted from the sessions
// started, one built on a Monday at 16:10 wrote Friday's dismissals as
// history; counted from the first school's dismissals, one built at 17:51,
// when a school whose service ends at 17:30 had recorded today's and
// school 1 had not, did the same, and the families never had Friday's
// "已离校").
func demoSchoolDays(sessions map[string][]models.SessionView, now time.Time, at func(models.SessionView) time.Time, every bool) []string {
	var days []string
	for d, ss := range sessions {
		reached, missed := false, false
		for _, s := range ss {
			if s.OfferingKind != models.KindBasic {
				continue
			}
			if now.Before(at(s)) {
				missed = true
			} else {
				reached = true
			}
		}
		if reached && (!every || !missed) {
			days = append(days, d)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(days)))
	return days
}

// demoParents maps a child to the parent account linked to it (made when
// the family answers the survey).
type demoParents struct {
	mu sync.Mutex
	of map[int64]int64
}

// demoFix is an absence the school corrects the next school day's morning:
// the parent brings a sick note, the admin changes absent to leave with
// that reason.
type demoFix struct{ school, session, student int64 }

// demoStaff is who acts for a school in the demo where no teacher is
// named: its admin when it has a demo login, else the platform's account.
type demoStaff struct {
	platform models.Actor
	admins   map[int64]models.Actor // by school
}

func (d demoStaff) of(school int64) models.Actor {
	if a, ok := d.admins[school]; ok {
		return a
	}
	return d.platform
}

// demoLeave has a few families with accounts file leave at 07:30 for a
// child on the day's sessions (a fever, a family matter): about one child
// in a hundred a day. The roll then takes the leave as it is.
func demoLeave(ctx context.Context, db *models.DB, parents *demoParents, sessions []models.SessionView, day int, now time.Time, hist *demoHistory) error {
	if len(sessions) == 0 {
		return nil
	}
	date := sessions[0].Date
	filed, err := time.ParseInLocation(time.DateOnly, date, models.Zone)
	if err != nil {
		return err
	}
	if filed = filed.Add(7*time.Hour + 30*time.Minute); filed.After(now) {
		return nil
	}
	parents.mu.Lock()
	kids := make([]int64, 0, len(parents.of))
	parent := make(map[int64]int64, len(parents.of))
	for k, uid := range parents.of {
		kids = append(kids, k)
		parent[k] = uid
	}
	parents.mu.Unlock()
	sort.Slice(kids, func(i, j int) bool { return kids[i] < kids[j] })
	rng := rand.New(rand.NewPCG(uint64(day), 7))
	reasons := []string{"发烧，在家休息", "家中有事", "去医院复查", "感冒咳嗽"}
	type ask struct {
		kid    int64
		reason string
	}
	var asks []ask
	for _, k := range kids {
		if rng.IntN(100) != 0 {
			continue
		}
		asks = append(asks, ask{k, reasons[rng.IntN(len(reasons))]})
	}
	// The families file at the same minute, each on their own phone: a
	// few requests at once, as the API takes them.
	return demoEach(asks, 4, func(a ask) error {
		by := models.Actor{UserID: parent[a.kid], Role: models.RoleParent}
		_, err := models.CreateLeaveRequest(ctx, db, by, a.kid, models.NewLeaveRequest{From: date, To: date,
			Reason: a.reason}, filed)
		return err
	}, func(a ask, err error) error {
		var me *models.Error
		var ve *models.ValidationError
		switch {
		case err == nil:
			hist.Leave++
		case errors.As(err, &ve), errors.As(err, &me) && me.Kind == models.KindInvalid:
			// Leave that cannot apply (no session of the child that day)
			// is refused, as it would be for the family.
		default:
			return fmt.Errorf("leave for student %d on %s: %w", a.kid, date, err)
		}
		return nil
	})
}

// demoCorrect applies yesterday's fixes at 08:30 on date, as the school's
// admin (after the day a correction needs a reason; it tells no family):
// a session's in one PUT, as the admin corrects its roll.
func demoCorrect(ctx context.Context, db *models.DB, staff demoStaff, fixes []demoFix, date, now time.Time, hist *demoHistory) error {
	at := date.Add(8*time.Hour + 30*time.Minute)
	if len(fixes) == 0 || at.After(now) {
		return nil
	}
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].session < fixes[j].session })
	for len(fixes) > 0 {
		f, n := fixes[0], 1
		for n < len(fixes) && fixes[n].session == f.session {
			n++
		}
		recs := make([]models.MarkRecord, n)
		for i, g := range fixes[:n] {
			recs[i] = models.MarkRecord{StudentID: g.student, Status: models.MarkLeave}
		}
		if _, err := models.MarkAttendance(ctx, db, staff.of(f.school), f.session, recs, "家长补交病假条", at); err != nil {
			return fmt.Errorf("correction of session %d: %w", f.session, err)
		}
		hist.Corrections += n
		fixes = fixes[n:]
	}
	return nil
}
