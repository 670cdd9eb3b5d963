package main

import (
	"context"
	"fmt"
	"time"

	"kehou/models"
)

// demoFamilyPhone is the guardian phone of the demo family: two siblings in
// school 1, so a parent login through the WeChat fake (README) has children
// to bind.
const demoFamilyPhone = "13812345678"

// demoFamilyRows are the roster rows of the demo family.
func demoFamilyRows() []models.RosterRow {
	return []models.RosterRow{
		{StudentNo: "2026DEMO1", Name: "李小明", Gender: "男", Grade: "3", Class: "1班",
			GuardianName: "李华", GuardianPhone: demoFamilyPhone, Relationship: "父亲"},
		{StudentNo: "2026DEMO2", Name: "李小红", Gender: "女", Grade: "5", Class: "2班",
			GuardianName: "李华", GuardianPhone: demoFamilyPhone, Relationship: "父亲"},
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

// demoOfferings are every demo school's offerings: the "5+2" base service
// on all five weekdays (2 h), and clubs — one small enough to show the
// waitlist, one drawn by lottery.
var demoOfferings = []demoOffering{
	{"basic", "课后托管（作业辅导）", "homework", "班主任", "各班教室", []int{1, 2, 3, 4, 5}, []int{1, 2, 3, 4, 5, 6}, "16:00", "18:00", 400, models.ModeFCFS},
	{"club", "篮球社", "sports", "王老师", "操场", []int{2, 4}, []int{3, 4, 5, 6}, "16:30", "18:00", 20, models.ModeFCFS},
	{"club", "国画社", "arts", "陈老师", "美术室", []int{3}, []int{1, 2, 3, 4, 5, 6}, "16:30", "18:00", 15, models.ModeFCFS},
	{"club", "科学实验", "science", "赵老师", "实验室", []int{1, 5}, []int{3, 4, 5, 6}, "16:30", "17:30", 2, models.ModeFCFS},
	{"club", "古琴", "music", "林老师", "音乐室", []int{1}, []int{2, 3, 4, 5, 6}, "17:00", "18:00", 10, models.ModeLottery},
}

// seedDemoTerm gives school a current term (from 60 days ago to 90 days
// ahead, so the demo stays usable whenever it is loaded) with the demo
// offerings published and their enrollment window open for 30 days. A school
// that already has a term is left alone. It answers how many objects it
// created.
func seedDemoTerm(ctx context.Context, db *models.DB, school models.School, now time.Time) (int, error) {
	terms, err := models.FindTerms(ctx, db, models.SystemActor, school.ID)
	if err != nil || len(terms) > 0 {
		return 0, err
	}
	local := now.In(models.StatsZone)
	maxClubs := 2
	term, err := models.CreateTerm(ctx, db, models.SystemActor, school.ID, models.NewTerm{
		Name:     fmt.Sprintf("%d学年课后服务", local.Year()),
		StartsOn: local.AddDate(0, 0, -60).Format("2006-01-02"), EndsOn: local.AddDate(0, 0, 90).Format("2006-01-02"),
		MaxClubs: &maxClubs})
	if err != nil {
		return 0, err
	}
	opens, closes := now.Add(-time.Hour), now.Add(30*24*time.Hour)
	for _, d := range demoOfferings {
		o, err := models.CreateOffering(ctx, db, models.SystemActor, school.ID, models.NewOffering{
			TermID: term.ID, Kind: d.kind, Name: d.name, Category: d.category, Teacher: d.teacher, Venue: d.venue,
			Weekdays: d.weekdays, StartTime: d.start, EndTime: d.end, Capacity: d.capacity, Grades: d.grades,
			Mode: d.mode, EnrollOpensAt: &opens, EnrollClosesAt: &closes})
		if err != nil {
			return 0, fmt.Errorf("offering %s: %w", d.name, err)
		}
		if _, err := models.PublishOffering(ctx, db, models.SystemActor, o.ID); err != nil {
			return 0, err
		}
	}
	return 1 + len(demoOfferings), nil
}
