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

// demoHistory counts what simulateDemo did.
type demoHistory struct {
	Days, Enrolled, Waitlisted, Draws, Responses, Snapshots, Rolls, Marks int
	Leave, Arrivals, Corrections, Dismissals                              int // the daily loop's last two weeks
}

// demoAct is one thing a family or the school did on a day of the term
// (day 0 is the term's first day; negative days are the week before).
type demoAct struct {
	day       int
	studentID int64
	offering  int64 // an enrollment; 0 for a survey answer
	phone     string
	support   string
	satisfied string
}

// simulateDemo plays the weeks of the new demo terms day by day, through
// the same models operations the API calls: each day's enrollments (the
// clock set to that evening), the lottery draw the day before the term,
// the parents' survey answers of the last two weeks, and then that day's
// statistics snapshot — so each snapshot is what the stats job would have
// computed that night, and every trend has a curve.
func simulateDemo(ctx context.Context, db *models.DB, cityID int64, plans []demoTermPlan, now time.Time) (demoHistory, error) {
	var hist demoHistory
	if len(plans) == 0 {
		return hist, nil
	}
	local := now.In(models.Zone)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, models.Zone)
	starts := plans[0].starts
	last := int(today.Sub(starts).Hours()/24 + 0.5) // today's day number
	surveyOpens := last - 14

	var acts []demoAct
	for _, p := range plans {
		a, err := demoActs(ctx, db, p, last, surveyOpens)
		if err != nil {
			return hist, err
		}
		acts = append(acts, a...)
	}
	sort.SliceStable(acts, func(i, j int) bool { return acts[i].day < acts[j].day })

	bureau, err := models.FindUserByUsername(ctx, db, "demo_city")
	if err != nil {
		return hist, err
	}
	// The enrollments are entered by the platform's staff account, so each
	// has a real user as who applied.
	staff, err := models.FindUserByUsername(ctx, db, "demo_platform")
	if err != nil {
		return hist, err
	}
	opens := starts.AddDate(0, 0, surveyOpens).Add(8 * time.Hour)
	survey, err := models.CreateSurvey(ctx, db, models.Actor{UserID: bureau.ID, Role: models.RoleBureauAdmin, RegionID: cityID},
		models.NewSurvey{RegionID: &cityID, Title: "课后服务家长满意度调查", OpensAt: opens, ClosesAt: today.AddDate(0, 0, 15)})
	if err != nil {
		return hist, fmt.Errorf("survey: %w", err)
	}

	sessions, err := demoSessions(ctx, db, staff.Actor(), plans, today)
	if err != nil {
		return hist, err
	}
	next := 0
	parents := &demoParents{of: map[int64]int64{}}
	var fixes []demoFix // yesterday's absences the school corrects this morning
	for day := -7; day <= last; day++ {
		date := starts.AddDate(0, 0, day)
		clock := date.Add(19 * time.Hour)
		if clock.After(now) {
			clock = now
		}
		var todays []demoAct
		for next < len(acts) && acts[next].day == day {
			todays = append(todays, acts[next])
			next++
		}
		if err := demoCorrect(ctx, db, staff.Actor(), fixes, date, now, &hist); err != nil {
			return hist, err
		}
		if err := demoEnroll(ctx, db, staff.Actor(), todays, clock, &hist); err != nil {
			return hist, err
		}
		if day == -1 {
			n, err := models.DrawDueLotteries(ctx, db, date.Add(10*time.Hour))
			if err != nil {
				return hist, fmt.Errorf("lottery: %w", err)
			}
			hist.Draws += n
		}
		if err := demoAnswer(ctx, db, survey.ID, todays, clock, parents, &hist); err != nil {
			return hist, err
		}
		loop := day > last-demoLoopDays
		if loop {
			if err := demoLeave(ctx, db, parents, sessions[date.Format(time.DateOnly)], day, now, &hist); err != nil {
				return hist, err
			}
		}
		if fixes, err = demoRolls(ctx, db, staff.Actor(), sessions[date.Format(time.DateOnly)], day, day > last-7, loop, clock, &hist); err != nil {
			return hist, err
		}
		if day >= 0 {
			if _, err := models.ComputeStats(ctx, db, date.Format(time.DateOnly), time.Now()); err != nil {
				return hist, fmt.Errorf("stats of %s: %w", date.Format(time.DateOnly), err)
			}
			hist.Snapshots++
			hist.Days++
		}
	}
	return hist, nil
}

// demoActs decides, deterministically, what each student of plan p does:
// most join the base service in the week before the term and the rest over
// its first month; about two in three want one or two clubs (the popular
// ones fill and keep a waitlist); some apply to the lottery club; most
// families answer the survey once it opens.
func demoActs(ctx context.Context, db *models.DB, p demoTermPlan, last, surveyOpens int) ([]demoAct, error) {
	rng := rand.New(rand.NewPCG(uint64(p.n), 42))
	var students []models.Student
	for after := int64(0); ; {
		page, err := models.FindStudents(ctx, db, models.SystemActor, p.school.ID, after, 500)
		if err != nil {
			return nil, err
		}
		students = append(students, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	early := func() int { return -6 + rng.IntN(6) }
	later := func(max int) int {
		d := int(float64(max) * rng.Float64() * rng.Float64()) // most join early
		if d > last {
			d = last
		}
		return d
	}
	responseRate := 0.80 + 0.15*rng.Float64()
	var acts []demoAct
	for _, s := range students {
		if !s.Active {
			continue
		}
		if rng.Float64() < 0.96 {
			d := early()
			if rng.Float64() < 0.45 {
				d = later(28)
			}
			acts = append(acts, demoAct{day: d, studentID: s.ID, offering: p.basic.ID})
		}
		want := 0
		switch x := rng.Float64(); {
		case x < 0.45:
			want = 1
		case x < 0.70:
			want = 2
		}
		var open []models.Offering // the clubs of the student's grade
		for _, o := range p.clubs {
			if o.Grades&(1<<s.Grade) != 0 {
				open = append(open, o)
			}
		}
		for k := 0; k < want && len(open) > 0; k++ {
			// The first clubs of a school are its popular ones.
			x := rng.Float64()
			i := int(float64(len(open)) * (x + x*x) / 2)
			d := early()
			if rng.Float64() < 0.35 {
				d = later(21)
			}
			acts = append(acts, demoAct{day: d, studentID: s.ID, offering: open[i].ID})
		}
		for _, o := range p.lottery {
			if rng.Float64() < 0.10 {
				acts = append(acts, demoAct{day: -6 + rng.IntN(3), studentID: s.ID, offering: o.ID})
			}
		}
		if phone := p.phones[s.StudentNo]; phone != "" && rng.Float64() < responseRate {
			a := demoAct{day: surveyOpens + int(14*rng.Float64()*rng.Float64()), studentID: s.ID, phone: phone,
				support: models.SupportSupport, satisfied: models.Satisfied}
			if a.day > last {
				a.day = last
			}
			switch x := rng.Float64(); {
			case x < 0.03:
				a.support = models.SupportOppose
			case x < 0.07:
				a.support = models.SupportNeutral
			}
			switch x := rng.Float64(); {
			case x < 0.02:
				a.satisfied = models.Unsatisfied
			case x < 0.12:
				a.satisfied = models.BasicallySatisfied
			}
			acts = append(acts, a)
		}
	}
	return acts, nil
}

// demoEnroll makes the day's enrollments as the school would (staff may
// enroll outside the window), several at once as the API's batches take
// them. A refusal by the rules (a clash, the club limit, full without a
// waitlist) is what a real family would have met: it is skipped.
func demoEnroll(ctx context.Context, db *models.DB, staff models.Actor, acts []demoAct, clock time.Time, hist *demoHistory) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan demoAct)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				e, err := models.Enroll(ctx, db, models.NewEnrollment{Actor: staff, StudentID: a.studentID,
					OfferingID: a.offering, Now: clock})
				mu.Lock()
				switch {
				case err == nil && e.Status == models.StatusWaitlisted:
					hist.Waitlisted++
					hist.Enrolled++
				case err == nil:
					hist.Enrolled++
				case demoRefusal(err):
				default:
					if firstErr == nil {
						firstErr = fmt.Errorf("enroll student %d in %d: %w", a.studentID, a.offering, err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, a := range acts {
		if a.offering != 0 {
			work <- a
		}
	}
	close(work)
	wg.Wait()
	return firstErr
}

func demoRefusal(err error) bool {
	for _, e := range []error{models.ErrFull, models.ErrAlreadyEnrolled, models.ErrScheduleConflict,
		models.ErrLimitReached, models.ErrWindowClosed, models.ErrGradeNotEligible} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// demoAnswer has the day's families log in with WeChat (the demo openid of
// their phone), prove their phone (which links their children) and answer
// the survey, several families at once.
func demoAnswer(ctx context.Context, db *models.DB, surveyID int64, acts []demoAct, clock time.Time, parents *demoParents, hist *demoHistory) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan demoAct)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				uid, err := demoRespond(ctx, db, surveyID, a, clock)
				if uid != 0 {
					parents.mu.Lock()
					parents.of[a.studentID] = uid
					parents.mu.Unlock()
				}
				mu.Lock()
				switch {
				case err == nil:
					hist.Responses++
				case errors.Is(err, models.ErrAlreadyResponded):
				case firstErr == nil:
					firstErr = fmt.Errorf("survey answer for student %d: %w", a.studentID, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, a := range acts {
		if a.offering == 0 {
			work <- a
		}
	}
	close(work)
	wg.Wait()
	return firstErr
}

// demoRespond answers the parent's user id once the phone is bound (the
// child linked), and the survey answer's error.
func demoRespond(ctx context.Context, db *models.DB, surveyID int64, a demoAct, clock time.Time) (int64, error) {
	u, err := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "demo-" + a.phone})
	if err != nil {
		return 0, err
	}
	if _, err := models.BindPhone(ctx, db, u.ID, a.phone); err != nil {
		return 0, err
	}
	_, err = models.RespondSurvey(ctx, db, u.Actor(), models.NewSurveyResponse{SurveyID: surveyID, StudentID: a.studentID,
		Support: a.support, Satisfaction: a.satisfied}, clock)
	return u.ID, err
}
