package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// pagesWorld is an enrollWorld with at least three items in every list the
// API answers: students, terms, offerings, a student's enrollments,
// surveys, job runs, the schools table and the breakdowns.
type pagesWorld struct {
	*enrollWorld
	platformTok    string
	rosterOffering int64
}

func newPagesWorld(t *testing.T) *pagesWorld {
	t.Helper()
	w := &pagesWorld{enrollWorld: newEnrollWorld(t)}
	w.platformTok = w.token(modelstest.Staff(t, w.db, models.RolePlatformAdmin, 0, 0))
	// Students of three more grades (the breakdown by grade).
	for _, g := range []int{4, 5, 6} {
		modelstest.Student(t, w.db, w.schoolID, g, "")
	}
	// A third school of the region (the schools table).
	var sc models.School
	if err := w.db.R.Raw("SELECT * FROM schools WHERE id = ?", w.schoolID).Scan(&sc).Error; err != nil {
		t.Fatal(err)
	}
	modelstest.School(t, w.db, sc.RegionID)
	// Two child regions (the region tree) and a second teacher (the staff).
	for i := 0; i < 2; i++ {
		modelstest.Region(t, w.db, &sc.RegionID)
	}
	modelstest.Staff(t, w.db, models.RoleTeacher, w.schoolID, 0)
	// Two more terms.
	for i, d := range [][2]string{{"2025-09-01", "2026-01-20"}, {"2026-02-20", "2026-07-10"}} {
		w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok, map[string]any{
			"name": fmt.Sprintf("旧学期%d", i), "starts_on": d[0], "ends_on": d[1], "max_clubs": 2}).want(t, 201)
	}
	// Four offerings; the child enrolls in a basic service and two clubs.
	basic := w.publishedOffering(t, func(b map[string]any) {
		b["kind"], b["category"], b["name"], b["weekdays"] = "basic", "homework", "托管", []int{1, 2, 3, 4, 5}
		b["start_time"], b["end_time"] = "15:30", "16:20"
	})
	c1 := w.publishedOffering(t, func(b map[string]any) { b["weekdays"] = []int{1} })
	w.rosterOffering = c1
	c2 := w.publishedOffering(t, func(b map[string]any) { b["weekdays"] = []int{3}; b["category"] = "arts" })
	w.publishedOffering(t, func(b map[string]any) { b["weekdays"] = []int{5}; b["category"] = "music" })
	for _, o := range []int64{basic, c1, c2} {
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": o}).want(t, 201)
	}
	// Three more children in c1 (its roster).
	for _, g := range []int{3, 4, 5} {
		s := modelstest.Student(t, w.db, w.schoolID, g, "")
		w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": s.ID, "offering_id": c1}).want(t, 201)
	}
	// Three leave requests of the child.
	for _, d := range []string{"2026-12-14", "2026-12-21", "2026-12-28"} {
		w.do("POST", fmt.Sprintf("/api/v1/students/%d/leave-requests", w.student.ID), w.parentTok,
			map[string]any{"from": d, "to": d, "reason": "看病"}).want(t, 201)
	}
	// Three school surveys, open now.
	for i := 0; i < 3; i++ {
		w.do("POST", "/api/v1/surveys", w.adminTok, map[string]any{"school_id": w.schoolID, "title": fmt.Sprintf("调查%d", i),
			"opens_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes_at": time.Now().Add(time.Hour).Format(time.RFC3339)}).want(t, 201)
	}
	// Three runs of the stats job (the job runs list, and the snapshots).
	for i := 0; i < 3; i++ {
		w.do("POST", "/api/v1/jobs/stats/run", w.platformTok, nil).want(t, 200)
	}
	return w
}

// pageOf decodes one page of a list answer.
func pageOf(t *testing.T, body []byte) (items []json.RawMessage, next string) {
	t.Helper()
	var p struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Items == nil || p.NextCursor == nil {
		t.Fatalf("not a list answer (items, next_cursor): %v %s", err, body)
	}
	return p.Items, *p.NextCursor
}

// walkPages reads path with ?limit=limit, following next_cursor to the end;
// every page but the last must be full, and only a page with more after it
// may carry a cursor.
func walkPages(t *testing.T, w *pagesWorld, path, tok string, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("%s: no end after 100 pages", path)
		}
		q := fmt.Sprintf("%s%climit=%d", path, sep(path), limit)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		items, next := pageOf(t, w.do("GET", q, tok, nil).want(t, 200).Body)
		if len(items) > limit {
			t.Fatalf("%s: limit=%d answered %d items", q, limit, len(items))
		}
		if cursor != "" && len(items) == 0 {
			t.Fatalf("%s: the previous page's cursor led to an empty page", q)
		}
		if next != "" && len(items) != limit {
			t.Fatalf("%s: a short page (%d of %d) with a cursor", q, len(items), limit)
		}
		for _, it := range items {
			out = append(out, string(it))
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

func sep(path string) byte {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' {
			return '&'
		}
	}
	return '?'
}

// listRoute is a list the API answers, as one caller reads it.
type listRoute struct{ name, path, tok string }

// lists are the lists of the pagesWorld, each with at least three items.
func (w *pagesWorld) lists() []listRoute {
	return []listRoute{
		{"students", fmt.Sprintf("/api/v1/schools/%d/students", w.schoolID), w.adminTok},
		{"terms", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok},
		{"termsParent", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.parentTok},
		{"offerings", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok},
		{"offeringsParent", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.parentTok},
		{"studentEnrollments", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok},
		{"studentEnrollmentsStaff", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.adminTok},
		{"surveysStaff", "/api/v1/surveys", w.adminTok},
		{"surveysParent", "/api/v1/surveys", w.parentTok},
		{"jobRuns", "/api/v1/jobs/runs", w.platformTok},
		{"offeringRoster", fmt.Sprintf("/api/v1/offerings/%d/roster", w.rosterOffering), w.adminTok},
		{"offeringSessions", fmt.Sprintf("/api/v1/offerings/%d/sessions", w.rosterOffering), w.adminTok},
		{"leaveRequests", fmt.Sprintf("/api/v1/students/%d/leave-requests", w.student.ID), w.parentTok},
		{"statsSchools", "/api/v1/stats/schools", w.bureauTok},
		{"breakdownGrade", "/api/v1/stats/breakdown?by=grade", w.bureauTok},
		{"breakdownCategory", "/api/v1/stats/breakdown?by=category", w.bureauTok},
		{"regions", "/api/v1/regions", w.bureauTok},
		{"staff", fmt.Sprintf("/api/v1/schools/%d/staff", w.schoolID), w.adminTok},
	}
}

// TestEveryListPages drives every list route with limit=1 and limit=2 and
// checks the walk gives exactly the unpaged list: no duplicates, nothing
// left out, no cursor after the last item.
func TestEveryListPages(t *testing.T) {
	w := newPagesWorld(t)
	for _, l := range w.lists() {
		t.Run(l.name, func(t *testing.T) {
			all, next := pageOf(t, w.do("GET", fmt.Sprintf("%s%climit=500", l.path, sep(l.path)), l.tok, nil).want(t, 200).Body)
			if next != "" {
				t.Fatalf("the whole list carries a cursor %q", next)
			}
			if len(all) < 3 {
				t.Fatalf("only %d items: the fixture must give at least 3", len(all))
			}
			for _, limit := range []int{1, 2, len(all)} {
				got := walkPages(t, w, l.path, l.tok, limit)
				if len(got) != len(all) {
					t.Fatalf("limit=%d walked %d items, the list has %d", limit, len(got), len(all))
				}
				seen := map[string]bool{}
				for i, it := range got {
					if seen[it] {
						t.Fatalf("limit=%d: item %d twice: %s", limit, i, it)
					}
					seen[it] = true
					if it != string(all[i]) {
						t.Fatalf("limit=%d: item %d is %s, want %s", limit, i, it, all[i])
					}
				}
			}
		})
	}
}
