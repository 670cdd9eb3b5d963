package models

import (
	"strings"
	"testing"
)

// TestExplainNoSession: the reason a parent reads when leave covers none of
// the child's sessions, one per kind of day, and a general one for a mix.
func TestExplainNoSession(t *testing.T) {
	term := Term{ID: 1, StartsOn: "2030-09-02", EndsOn: "2031-01-17", NoServiceDays: `["2030-10-01","2030-10-02"]`,
		ExtraDays: `[{"date":"2030-09-29","as_weekday":2}]`}
	offs := []leaveOffering{{ID: 7, Name: "篮球社", TermID: 1, Weekdays: 1<<2 | 1<<4}}
	for _, c := range []struct {
		name, from, to string
		cancelled      []string
		says           string
	}{
		{"sunday", "2030-11-10", "2030-11-10", nil, "周末"},
		{"weekend", "2030-11-09", "2030-11-10", nil, "周末"},
		{"noService", "2030-10-01", "2030-10-02", nil, "不上课日"},
		{"beforeTerm", "2030-08-27", "2030-08-29", nil, "不在学期内（2030-09-02 至 2031-01-17）"},
		{"afterTerm", "2031-01-21", "2031-01-21", nil, "不在学期内"},
		{"notTheDay", "2030-11-06", "2030-11-06", nil, "篮球社：周二、周四"},
		{"cancelled", "2030-11-05", "2030-11-05", []string{"2030-11-05"}, "已停课"},
		{"makeUpSundayNotWeekend", "2030-09-29", "2030-09-29", []string{"2030-09-29"}, "已停课"},
		{"unscheduled", "2030-11-07", "2030-11-07", nil, "还没有排课"},
		{"mixed", "2030-10-02", "2030-10-03", nil, "周末、不上课日"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := explainNoSession(c.from, c.to, offs, []Term{term}, c.cancelled); !strings.Contains(got, c.says) {
				t.Fatalf("%q, want it to say %q", got, c.says)
			}
		})
	}
}
