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
// day, a Sunday, and the first day of an autumn term; each shows the daily
// loop (leave and dismissals) of its last two weeks.
func TestSeedDemoAwkwardDays(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds the whole demo several times")
	}
	for _, day := range []string{"2026-12-06", "2027-01-01", "2027-02-06", "2027-07-31", "2028-02-29", "2028-09-03", "2027-09-01"} {
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
