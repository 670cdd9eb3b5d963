package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"kehou/models"
)

// demoFamilyPhone is the guardian phone of the demo family's father: two
// siblings in school 1, so a parent login through the WeChat fake (README)
// has children to bind. demoMotherPhone is the mother's, guardian of the
// younger sibling only: a second demo parent, who gets the messages about
// that child too.
const (
	demoFamilyPhone = "13812345678"
	demoMotherPhone = "13987654321"
)

// demoFamilyRows are the roster rows of the demo family.
func demoFamilyRows() []models.RosterRow {
	return []models.RosterRow{
		{StudentNo: "2026DEMO1", Name: "李小明", Gender: "男", Grade: "3", Class: "1班",
			GuardianName: "李华", GuardianPhone: demoFamilyPhone, Relationship: "父亲"},
		{StudentNo: "2026DEMO2", Name: "李小红", Gender: "女", Grade: "5", Class: "2班",
			GuardianName: "李华", GuardianPhone: demoFamilyPhone, Relationship: "父亲"},
		{StudentNo: "2026DEMO2", Name: "李小红", Gender: "女", Grade: "5", Class: "2班",
			GuardianName: "王芳", GuardianPhone: demoMotherPhone, Relationship: "母亲"},
	}
}

// demoOffering is one offering of the demo term.
type demoOffering struct {
	kind, name, category, teacher, venue string
	weekdays, grades                     []int
	start, end                           string
	capacity                             int
	mode                                 string
}

// demoBasic is every school's base service ("1" of "1+X"); its weekdays and
// end time come from the school (demoSchools).
var demoBasic = demoOffering{"basic", "课后托管（作业辅导）", "homework", "班主任", "各班教室", nil, []int{1, 2, 3, 4, 5, 6}, "16:00", "18:00", 0, models.ModeFCFS}

// demoClubs are the clubs a demo school picks from ("X"): the names of the
// clubs and special courses counties report. The lottery one is drawn
// before the term starts.
var demoClubs = []demoOffering{
	{"club", "篮球社", "sports", "王老师", "操场", []int{2, 4}, []int{3, 4, 5, 6}, "16:30", "18:00", 30, models.ModeFCFS},
	{"club", "足球队", "sports", "刘老师", "足球场", []int{1, 3}, []int{3, 4, 5, 6}, "16:30", "18:00", 24, models.ModeFCFS},
	{"club", "乒乓球", "sports", "周老师", "乒乓球室", []int{5}, []int{2, 3, 4, 5, 6}, "16:30", "17:30", 16, models.ModeFCFS},
	{"club", "花样跳绳", "sports", "孙老师", "风雨操场", []int{2}, []int{1, 2, 3, 4}, "16:30", "17:30", 30, models.ModeFCFS},
	{"club", "跆拳道", "sports", "郑老师", "体育馆", []int{4}, []int{3, 4, 5, 6}, "16:30", "17:30", 20, models.ModeFCFS},
	{"club", "国画社", "arts", "陈老师", "美术室", []int{3}, []int{1, 2, 3, 4, 5, 6}, "16:30", "18:00", 20, models.ModeFCFS},
	{"club", "剪纸", "handcraft", "黄老师", "手工教室", []int{1}, []int{1, 2, 3, 4}, "16:30", "17:30", 20, models.ModeFCFS},
	{"club", "软笔书法", "arts", "吴老师", "书法教室", []int{5}, []int{3, 4, 5, 6}, "16:30", "17:30", 25, models.ModeFCFS},
	{"club", "科学实验", "science", "赵老师", "实验室", []int{1, 5}, []int{3, 4, 5, 6}, "16:30", "17:30", 20, models.ModeFCFS},
	{"club", "机器人编程", "science", "钱老师", "创客教室", []int{3}, []int{4, 5, 6}, "16:30", "18:00", 15, models.ModeFCFS},
	{"club", "绘本阅读", "reading", "杨老师", "图书馆", []int{2}, []int{1, 2}, "16:30", "17:30", 30, models.ModeFCFS},
	{"club", "合唱团", "music", "许老师", "音乐室", []int{4}, []int{2, 3, 4, 5, 6}, "16:30", "17:30", 40, models.ModeFCFS},
	{"club", "围棋", "thinking", "何老师", "棋室", []int{3}, []int{2, 3, 4, 5, 6}, "16:30", "17:30", 20, models.ModeFCFS},
	{"club", "小农场劳动", "labor", "马老师", "劳动基地", []int{5}, []int{3, 4, 5, 6}, "16:30", "17:30", 20, models.ModeFCFS},
	{"club", "古筝", "music", "林老师", "音乐室", []int{1}, []int{2, 3, 4, 5, 6}, "17:00", "18:00", 12, models.ModeLottery},
}

// demoTermPlan is a school whose demo term this run created: what the
// history simulation fills in.
type demoTermPlan struct {
	school  models.School
	n       int
	term    models.Term
	starts  time.Time // the term's first day, 00:00 Asia/Shanghai
	basic   models.Offering
	clubs   []models.Offering
	lottery []models.Offering
	phones  map[string]string // student_no → the first guardian's phone
}

// seedDemoTerm gives school (the n-th demo school, of shape d) a term that
// started four weeks before now, with its base service and a deterministic
// choice of clubs published (fcfs windows open from a week before the
// term to a month ahead; the lottery club's window closed two days before
// the term). A school that already has a term is left alone (nil plan). It
// answers the plan and how many objects it created.
func seedDemoTerm(ctx context.Context, db *models.DB, school models.School, n int, d demoSchool, now time.Time) (*demoTermPlan, int, error) {
	terms, err := models.FindTerms(ctx, db, models.SystemActor, school.ID)
	if err != nil || len(terms) > 0 {
		return nil, 0, err
	}
	day, starts, in := demoTermInput(now)
	term, err := models.CreateTerm(ctx, db, models.SystemActor, school.ID, in)
	if err != nil {
		return nil, 0, err
	}
	plan := &demoTermPlan{school: school, n: n, term: term, starts: starts}
	basic := demoBasic
	basic.weekdays, basic.end, basic.capacity = d.basicDays, d.basicEnd, 6*d.classes*d.perClass+10
	offs := []demoOffering{basic}
	rng := rand.New(rand.NewPCG(uint64(n), 16))
	pool := rng.Perm(len(demoClubs) - 1)
	clubs := 5 + d.classes*2 // bigger schools run more clubs
	if clubs > len(pool) {
		clubs = len(pool)
	}
	for _, i := range pool[:clubs] {
		c := demoClubs[i]
		// Bigger schools run bigger clubs (and the small demo smaller ones).
		c.capacity = max(6, c.capacity*(2+d.classes)*d.perClass/(4*28))
		offs = append(offs, c)
	}
	offs = append(offs, demoClubs[len(demoClubs)-1])
	waitlist := true
	for _, o := range offs {
		opens, closes := starts.AddDate(0, 0, -7).Add(8*time.Hour), day.AddDate(0, 0, 30).Add(20*time.Hour)
		if o.mode == models.ModeLottery {
			closes = starts.AddDate(0, 0, -2).Add(20 * time.Hour)
		}
		created, err := models.CreateOffering(ctx, db, models.SystemActor, school.ID, models.NewOffering{
			TermID: term.ID, Kind: o.kind, Name: o.name, Category: o.category, Teacher: o.teacher, Venue: o.venue,
			Weekdays: o.weekdays, StartTime: o.start, EndTime: o.end, Capacity: o.capacity, Grades: o.grades,
			Mode: o.mode, Waitlist: &waitlist, EnrollOpensAt: &opens, EnrollClosesAt: &closes})
		if err != nil {
			return nil, 0, fmt.Errorf("offering %s: %w", o.name, err)
		}
		if created, err = models.PublishOffering(ctx, db, models.SystemActor, created.ID); err != nil {
			return nil, 0, err
		}
		switch {
		case o.kind == "basic":
			plan.basic = created
		case o.mode == models.ModeLottery:
			plan.lottery = append(plan.lottery, created)
		default:
			plan.clubs = append(plan.clubs, created)
		}
	}
	return plan, 1 + len(offs), nil
}

// demoTermInput is the demo term around now: the day (00:00 Asia/Shanghai),
// the term's first day, and the term itself. It reads nothing, so a test
// checks it for every day of a year.
func demoTermInput(now time.Time) (day, starts time.Time, in models.NewTerm) {
	local := now.In(models.Zone)
	day = time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, models.Zone)
	starts = day.AddDate(0, 0, -demoTermDays)
	maxClubs := 2
	ends := starts.AddDate(0, 0, 7*demoTermWeeks)
	return day, starts, models.NewTerm{
		Name:     demoTermName(starts),
		StartsOn: starts.Format(time.DateOnly), EndsOn: ends.Format(time.DateOnly),
		MaxClubs: &maxClubs, NoServiceDays: demoNoServiceDays(day, ends)}
}

// demoTermDays is how long the demo term has been under way: four weeks of
// a term of demoTermWeeks. Each day is played and has its snapshot; four
// weeks keep the seed under 3 s on 2 cores, six did not
// (docs/bench/2026-12-07-seed-demo.md).
const (
	demoTermDays  = 28
	demoTermWeeks = 19
)

// demoNoServiceDays are the days without after-school service ahead in a
// demo term: the sports meeting (the Friday three weeks from today) and New
// Year's Day when the term spans it.
func demoNoServiceDays(today, ends time.Time) []string {
	meet := today.AddDate(0, 0, 21)
	for meet.Weekday() != time.Friday {
		meet = meet.AddDate(0, 0, 1)
	}
	ny := time.Date(today.Year()+1, time.January, 1, 0, 0, 0, 0, models.Zone)
	if meet.Equal(ny) {
		// New Year's Day is a holiday already: the meeting moves a week on.
		meet = meet.AddDate(0, 0, 7)
	}
	days := []string{meet.Format(time.DateOnly)}
	if ny.Before(ends) {
		days = append(days, ny.Format(time.DateOnly))
	}
	return days
}

func demoTermName(starts time.Time) string {
	if starts.Month() >= time.February && starts.Month() < time.August {
		return fmt.Sprintf("%d年春季学期", starts.Year())
	}
	y := starts.Year()
	if starts.Month() < time.February {
		y--
	}
	return fmt.Sprintf("%d年秋季学期", y)
}
