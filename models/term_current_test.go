package models

import "testing"

func TestCurrentTermID(t *testing.T) {
	autumn := Term{ID: 1, StartsOn: "2026-09-01", EndsOn: "2027-01-20"}
	spring := Term{ID: 2, StartsOn: "2027-02-20", EndsOn: "2027-07-10"}
	past := Term{ID: 3, StartsOn: "2026-02-20", EndsOn: "2026-07-10"}
	summer := Term{ID: 4, StartsOn: "2026-12-01", EndsOn: "2026-12-31"} // overlaps autumn, starts later
	for _, c := range []struct {
		name  string
		terms []Term
		today string
		want  int64
	}{
		{"inSession", []Term{past, autumn, spring}, "2026-12-06", 1},
		{"firstDay", []Term{past, autumn, spring}, "2026-09-01", 1},
		{"lastDay", []Term{past, autumn, spring}, "2027-01-20", 1},
		{"betweenTermsTheNext", []Term{past, autumn, spring}, "2027-02-01", 2},
		{"overlapTheLatestStart", []Term{autumn, summer}, "2026-12-06", 4},
		{"allPastNone", []Term{past}, "2026-12-06", 0},
		{"noTerms", nil, "2026-12-06", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := CurrentTermID(c.terms, c.today); got != c.want {
				t.Fatalf("CurrentTermID = %d, want %d", got, c.want)
			}
		})
	}
}
