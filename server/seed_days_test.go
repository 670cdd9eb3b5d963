package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestDemoTermEveryDay builds the demo's term and calendar for every day
// of three years (2026, whose New Year falls on a Friday as the demo's
// sports meeting may; 2027; and the leap year 2028): each must be a valid
// term that contains the day, whatever holiday the day falls near.
func TestDemoTermEveryDay(t *testing.T) {
	for _, year := range []int{2026, 2027, 2028} {
		for d := time.Date(year, 1, 1, 15, 0, 0, 0, models.Zone); d.Year() == year; d = d.AddDate(0, 0, 1) {
			day, starts, in := demoTermInput(d)
			if err := in.Validate(); err != nil {
				t.Fatalf("today %s: the demo term is invalid: %v (%+v)", d.Format(time.DateOnly), err, in)
			}
			if today := day.Format(time.DateOnly); today < in.StartsOn || today > in.EndsOn || !starts.Before(day) {
				t.Fatalf("today %s: term %s–%s does not contain it", today, in.StartsOn, in.EndsOn)
			}
		}
	}
}

// TestSeedDemoAwkwardDays seeds the whole (small) demo on days where a
// calendar goes wrong: the week the sports meeting met New Year, New
// Year's Day, Spring Festival, the summer holiday (a Saturday), a leap
// day, a Sunday, the first day of an autumn term, and a Monday (before its
// sessions start, when CI runs in the morning, today is not a school day
// yet); each shows the daily loop (leave and dismissals) of its last two
// weeks of school days.
func TestSeedDemoAwkwardDays(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds the whole demo several times")
	}
	for _, day := range []string{"2026-12-06", "2027-01-01", "2027-02-06", "2027-07-31", "2028-02-29", "2028-09-03", "2027-09-01", "2027-03-08"} {
		t.Run(day, func(t *testing.T) {
			url := modelstest.URL(t)
			var out bytes.Buffer
			err := run(context.Background(), []string{"seed", "demo", "--small", "--today", day},
				envFor("DATABASE_URL", url), &out, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("seed demo --today %s: %v", day, err)
			}
			if !strings.Contains(out.String(), "Simulated 29 days") {
				t.Fatalf("seed demo --today %s printed:\n%s", day, out.String())
			}
			m := regexp.MustCompile(`last \d+ days: (\d+) leave requests, \d+ absent children .*?, (\d+) dismissals`).FindStringSubmatch(out.String())
			if m == nil || m[1] == "0" || m[2] == "0" {
				t.Fatalf("seed demo --today %s shows no daily loop:\n%s", day, out.String())
			}
			checkLoopWindows(t, url, day)
		})
	}
}

// TestSeedDemoTodayFlag refuses a --today that is not a date.
func TestSeedDemoTodayFlag(t *testing.T) {
	url := modelstest.URL(t)
	err := run(context.Background(), []string{"seed", "demo", "--today", "2027-13-01"},
		envFor("DATABASE_URL", url), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--today") {
		t.Fatalf("seed demo --today 2027-13-01 = %v", err)
	}
}

// checkLoopWindows: the daily loop covers the last ten school days (two
// weeks, counted back from the last school day, not from today): the
// tenth has dismissals and the eleventh none; the clubs' "已离校" messages
// cover the last five.
func checkLoopWindows(t *testing.T, url, day string) {
	t.Helper()
	db, err := models.Open(url, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var days []string
	if err := db.R.Raw(`SELECT DISTINCT s.session_date FROM sessions s JOIN offerings o ON o.id = s.offering_id
		WHERE o.kind = 'basic' AND s.roll_taken_at IS NOT NULL ORDER BY s.session_date DESC`).Scan(&days).Error; err != nil {
		t.Fatal(err)
	}
	if len(days) < 11 {
		t.Fatalf("--today %s: %d school days with rolls", day, len(days))
	}
	count := func(q, date string) int64 {
		var n int64
		if err := db.R.Raw(q, date).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	left := `SELECT COUNT(*) FROM dismissals d JOIN sessions s ON s.id = d.session_id WHERE s.session_date = ?`
	told := `SELECT COUNT(*) FROM outbox WHERE kind = 'dismissal' AND dedupe_key LIKE 'dismissal:' || ? || ':%'`
	if count(left, days[9]) == 0 || count(left, days[10]) != 0 {
		t.Errorf("--today %s: dismissals on %s (10th last school day) %d, on %s (11th) %d; want some, none",
			day, days[9], count(left, days[9]), days[10], count(left, days[10]))
	}
	if count(told, days[4]) == 0 || count(told, days[5]) != 0 {
		t.Errorf("--today %s: 已离校 messages on %s (5th last school day) %d, on %s (6th) %d; want some, none",
			day, days[4], count(told, days[4]), days[5], count(told, days[5]))
	}
}
