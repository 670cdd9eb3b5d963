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
	by        *models.Actor // who applies: the family's parent account (nil: the school's staff)
	offering  int64         // an enrollment; 0 for a survey answer
	phone     string        // the family's (first guardian's) phone
	support   string
	satisfied string
}

// simulateDemo plays the weeks of the new demo terms day by day: each
// day's enrollments through the operation the API calls (the clock set to
// noon that day: full clubs, waitlists), the lottery draw the day before
// the term, the parents' survey answers of the last two weeks, the day's
// rolls, and then that day's statistics snapshot — so each snapshot is
// what the stats job would have computed that night, and every trend has
// a curve. What has no rule to play out — the rolls before the daily
// loop's weeks, the survey answers, the base service's rolls and
// dismissals before its last days — is written a day at a time in one
// transaction (models.WriteHistoryRolls, WriteHistoryAnswers): the rows
// the operations would write, which keeps the seed to a few seconds.
// stop (Ctrl-C) is checked before each day; ctx is for the statements.
func simulateDemo(ctx, stop context.Context, db *models.DB, cityID int64, plans []demoTermPlan, now time.Time) (demoHistory, error) {
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

	if err := demoFamilyApplies(ctx, db, plans, acts, starts.AddDate(0, 0, -7).Add(19*time.Hour)); err != nil {
		return hist, err
	}
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

	admin, err := models.FindUserByUsername(ctx, db, "demo_school")
	if err != nil {
		return hist, err
	}
	// School 1's own admin takes the rolls no teacher is named for and
	// corrects its absences; the schools without demo logins have the
	// platform's account do it.
	schoolStaff := demoStaff{platform: staff.Actor(), admins: map[int64]models.Actor{*admin.SchoolID: admin.Actor()}}
	sessions, err := demoSessions(ctx, db, staff.Actor(), plans, today)
	if err != nil {
		return hist, err
	}
	// The daily loop's windows end on the last school day (demoSchoolDays).
	schoolDays := demoSchoolDays(sessions, now, models.SessionView.StartsAt, false)
	lastSchoolDay, liveBasicFrom := today, ""
	if len(schoolDays) > 0 {
		if lastSchoolDay, err = time.ParseInLocation(time.DateOnly, schoolDays[0], models.Zone); err != nil {
			return hist, err
		}
	}
	dismissed := demoSchoolDays(sessions, now, demoRecorded, true)
	if len(dismissed) >= demoLiveBasicDays {
		liveBasicFrom = dismissed[demoLiveBasicDays-1]
	}
	within := func(date time.Time, days int) bool { return date.After(lastSchoolDay.AddDate(0, 0, -days)) }
	next := 0
	parents := &demoParents{of: map[int64]int64{}}
	var fixes []demoFix    // the last school day's absences the school corrects this morning
	fullSchool := int64(0) // the school whose base service has every roll (demoRolls)
	if plans[0].n == 1 {
		fullSchool = plans[0].school.ID
	}
	// The snapshots being computed, oldest first. Up to two run at once:
	// a weekend day plays in milliseconds, and waiting for Friday's
	// snapshot before Saturday's starts left a core idle.
	var pending []func() error
	snapshots := func(keep int) error {
		var err error
		for len(pending) > keep {
			err = errors.Join(err, pending[0]())
			pending = pending[1:]
		}
		return err
	}
	defer snapshots(0) // a failed day does not leave its snapshots running
	for day := -7; day <= last; day++ {
		if err := stop.Err(); err != nil {
			return hist, err // Ctrl-C: the days played so far stay
		}
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
		// The tables grow by orders of magnitude over the weeks (parent
		// links from none to thousands once the survey opens): planner
		// statistics taken on a day they were tiny would misplan later
		// days' statements.
		if err := models.RefreshPlannerStats(ctx, db); err != nil {
			return hist, err
		}
		// The corrections wait for the next school day's morning.
		if wd := date.Weekday(); wd != time.Saturday && wd != time.Sunday {
			if err := demoCorrect(ctx, db, schoolStaff, fixes, date, now, &hist); err != nil {
				return hist, err
			}
			fixes = nil
		}
		// The school enters the day's enrollments at noon, so a child
		// enrolled that day is on that afternoon's rolls (entered at 19:00,
		// they were on the rolls of sessions that had ended before).
		enrolled := date.Add(12 * time.Hour)
		if enrolled.After(now) {
			enrolled = now
		}
		if err := demoEnroll(ctx, db, staff.Actor(), todays, enrolled, &hist); err != nil {
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
		loop := within(date, demoLoopDays)
		if loop {
			if err := demoLeave(ctx, db, parents, sessions[date.Format(time.DateOnly)], day, now, &hist); err != nil {
				return hist, err
			}
		}
		found, err := demoRolls(ctx, db, schoolStaff, sessions[date.Format(time.DateOnly)], demoRollDay{day: day, clock: clock,
			withBasic: within(date, 7), fullSchool: fullSchool, loop: loop,
			liveBasic:   liveBasicFrom != "" && date.Format(time.DateOnly) >= liveBasicFrom,
			liveDismiss: within(date, demoLiveDismissDays)}, &hist)
		if err != nil {
			return hist, err
		}
		fixes = append(fixes, found...)
		if day >= 0 {
			// The day's snapshot is computed while the next days are
			// played: StartStats returns once its view of the data is
			// fixed, so it sees none of their writes.
			if err := snapshots(1); err != nil {
				return hist, err
			}
			d := date.Format(time.DateOnly)
			wait := models.StartStats(ctx, db, d, time.Now())
			pending = append(pending, func() error {
				if _, err := wait(); err != nil {
					return fmt.Errorf("stats of %s: %w", d, err)
				}
				return nil
			})
			hist.Snapshots++
			hist.Days++
		}
	}
	return hist, snapshots(0)
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
			acts = append(acts, demoAct{day: d, studentID: s.ID, offering: p.basic.ID, phone: p.phones[s.StudentNo]})
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
			acts = append(acts, demoAct{day: d, studentID: s.ID, offering: open[i].ID, phone: p.phones[s.StudentNo]})
		}
		for _, o := range p.lottery {
			if rng.Float64() < 0.10 {
				acts = append(acts, demoAct{day: -6 + rng.IntN(3), studentID: s.ID, offering: o.ID, phone: p.phones[s.StudentNo]})
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

// demoFamilyApplies has the demo family's father apply for his children
// himself, as a real family enrolls in the mini-program: his parent
// account (the one that later answers the survey, openid "demo-" and his
// phone) is made, linked to the children his phone guards, before the
// enrollment week, and the family's enrollments name it as who applied.
// The other families' enrollments are entered by the school's staff.
func demoFamilyApplies(ctx context.Context, db *models.DB, plans []demoTermPlan, acts []demoAct, at time.Time) error {
	if plans[0].n != 1 {
		return nil // school 1's term (the family's) was there already
	}
	users, err := models.WriteHistoryParents(ctx, db, []models.HistoryParent{{OpenID: "demo-" + demoFamilyPhone, Phone: demoFamilyPhone, At: at}})
	if err != nil {
		return fmt.Errorf("demo family: %w", err)
	}
	father := models.Actor{UserID: users["demo-"+demoFamilyPhone], Role: models.RoleParent}
	for i := range acts {
		if acts[i].offering != 0 && acts[i].phone == demoFamilyPhone {
			acts[i].by = &father
		}
	}
	return nil
}

// demoEnroll makes the day's enrollments as the school would (staff may
// enroll outside the window), several at once as the API's batches take
// them. A refusal by the rules (a clash, the club limit, full without a
// waitlist) is what a real family would have met: it is skipped.
func demoEnroll(ctx context.Context, db *models.DB, staff models.Actor, acts []demoAct, clock time.Time, hist *demoHistory) error {
	type answer struct {
		e   models.Enrollment
		err error
	}
	var enrolls []demoAct
	for _, a := range acts {
		if a.offering != 0 {
			enrolls = append(enrolls, a)
		}
	}
	// As many at once as the enrollment pipeline commits together
	// (models.Enroll groups concurrent requests), so a day's enrollments
	// take few transactions.
	return demoEach(enrolls, 64, func(a demoAct) answer {
		by := staff
		if a.by != nil {
			by = *a.by
		}
		e, err := models.Enroll(ctx, db, models.NewEnrollment{Actor: by, StudentID: a.studentID,
			OfferingID: a.offering, Now: clock})
		return answer{e, err}
	}, func(a demoAct, r answer) error {
		switch {
		case r.err == nil && r.e.Status == models.StatusWaitlisted:
			hist.Waitlisted++
			hist.Enrolled++
		case r.err == nil:
			hist.Enrolled++
		case demoRefusal(r.err):
		default:
			return fmt.Errorf("enroll student %d in %d: %w", a.studentID, a.offering, r.err)
		}
		return nil
	})
}

// demoEach runs work on each of items, n at a time, and hands each answer
// to merge, one at a time (it may update the caller's counts); the first
// error merge answers is demoEach's, once every item is done.
func demoEach[T, R any](items []T, n int, work func(T) R, merge func(T, R) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	ch := make(chan T)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				r := work(it)
				mu.Lock()
				if err := merge(it, r); err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return first
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
// the survey: the same rows LoginWeChat, BindPhone and RespondSurvey
// write, the day's in one transaction (models.WriteHistoryAnswers), each
// at clock.
func demoAnswer(ctx context.Context, db *models.DB, surveyID int64, acts []demoAct, clock time.Time, parents *demoParents, hist *demoHistory) error {
	var answers []models.HistoryAnswer
	for _, a := range acts {
		if a.offering == 0 {
			answers = append(answers, models.HistoryAnswer{OpenID: "demo-" + a.phone, Phone: a.phone, StudentID: a.studentID,
				Support: a.support, Satisfaction: a.satisfied, At: clock})
		}
	}
	of, n, err := models.WriteHistoryAnswers(ctx, db, surveyID, answers)
	if err != nil {
		return fmt.Errorf("survey answers: %w", err)
	}
	parents.mu.Lock()
	for k, uid := range of {
		parents.of[k] = uid
	}
	parents.mu.Unlock()
	hist.Responses += n
	return nil
}
