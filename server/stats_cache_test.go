package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// The dashboards' answer cache (handlers/stats_cache.go): never stale after a
// snapshot write, never across scopes, byte for byte the uncached answer.

// uncachedTwin is a second API on s's database handle with the cache off: it
// answers what s would answer without a cache.
func uncachedTwin(t *testing.T, s *testServer) *testServer {
	t.Helper()
	u := newTestServerOn(t, s.db, s.cfg)
	u.api.StatsCacheTTL = -1
	return u
}

// dashboardPaths are the cached reads, as bureauCity of w asks them.
func dashboardPaths(w surveyWorld) []struct{ name, path string } {
	return []struct{ name, path string }{
		{"overview", "/api/v1/stats/overview"},
		{"overviewSchool", fmt.Sprintf("/api/v1/stats/overview?school_id=%d", w.a.ID)},
		{"schools", "/api/v1/stats/schools"},
		{"breakdownGrade", "/api/v1/stats/breakdown?by=grade"},
		{"trend", "/api/v1/stats/trend?metric=students"},
	}
}

func TestStatsCacheSameBytesAsUncached(t *testing.T) {
	w, _, _ := dashboardWorld(t)
	s, u := w.s, uncachedTwin(t, w.s)
	tok := s.token(w.bureauCity)
	for _, p := range dashboardPaths(w) {
		t.Run(p.name, func(t *testing.T) {
			want := u.do("GET", p.path, tok, nil).want(t, 200)
			for i, kind := range []string{"miss", "hit"} {
				got := s.do("GET", p.path, tok, nil).want(t, 200)
				if !bytes.Equal(got.Body, want.Body) {
					t.Fatalf("%s (read %d) body\n%s\nwant\n%s", kind, i, got.Body, want.Body)
				}
				if got.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
					t.Fatalf("%s Content-Type %q, want %q", kind, got.Header.Get("Content-Type"), want.Header.Get("Content-Type"))
				}
			}
		})
	}
}

// TestStatsCacheServesUntilSnapshotWrite shows the cache is in play (a change
// made behind the stats job's back is not seen) and that a snapshot write
// retires every cached answer at once.
func TestStatsCacheServesUntilSnapshotWrite(t *testing.T) {
	w, _, today := dashboardWorld(t)
	s, u := w.s, uncachedTwin(t, w.s)
	tok := s.token(w.bureauCity)
	paths := dashboardPaths(w)
	before := map[string][]byte{}
	for _, p := range paths {
		before[p.name] = s.do("GET", p.path, tok, nil).want(t, 200).Body
	}
	// Not a snapshot write: the cache keeps answering what it built.
	if err := s.db.W.Exec("UPDATE stat_snapshots SET students = students + 1000").Error; err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		t.Run("cached/"+p.name, func(t *testing.T) {
			if got := s.do("GET", p.path, tok, nil).want(t, 200).Body; !bytes.Equal(got, before[p.name]) {
				t.Fatalf("not served from the cache: %s", got)
			}
			if got := u.do("GET", p.path, tok, nil).want(t, 200).Body; bytes.Equal(got, before[p.name]) {
				t.Fatalf("the uncached twin did not see the change: %s", got)
			}
		})
	}
	// A new snapshot (one more student in school a): every answer is the
	// new one at the very next read.
	modelstest.Student(t, s.db, w.a.ID, 3, "")
	if _, err := models.ComputeStats(context.Background(), s.db, today, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		t.Run("afterSnapshot/"+p.name, func(t *testing.T) {
			got := s.do("GET", p.path, tok, nil).want(t, 200).Body
			want := u.do("GET", p.path, tok, nil).want(t, 200).Body
			if !bytes.Equal(got, want) {
				t.Fatalf("stale answer after a new snapshot:\n%s\nwant\n%s", got, want)
			}
			if bytes.Equal(got, before[p.name]) {
				t.Fatalf("answer did not change with the snapshot: %s", got)
			}
		})
	}
}

func TestStatsCacheNewSnapshotByJobRun(t *testing.T) {
	w, _, _ := dashboardWorld(t)
	s := w.s
	tok := s.token(w.bureauCity)
	platform := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	students := func() float64 {
		t.Helper()
		return s.do("GET", "/api/v1/stats/overview", tok, nil).want(t, 200).JSON()["students"].(float64)
	}
	if got := students(); got != 4 {
		t.Fatalf("students = %v, want 4", got)
	}
	modelstest.Student(t, s.db, w.b.ID, 4, "")
	modelstest.Student(t, s.db, w.b.ID, 4, "")
	s.do("POST", "/api/v1/jobs/stats/run", s.token(platform), nil).want(t, 200)
	if got := students(); got != 6 {
		t.Fatalf("after the job run students = %v, want 6 (stale cached answer)", got)
	}
}

// TestStatsCacheNoSnapshotNotKept: a 404 no_snapshot is not cached, so a
// snapshot written by another instance (which moves no version here) shows
// at the next read, long before the TTL.
func TestStatsCacheNoSnapshotNotKept(t *testing.T) {
	w := newSurveyWorld(t)
	s := w.s
	other := newTestServerOn(t, modelstest.Open(t, s.cfg.DatabaseURL), s.cfg)
	s.api.StatsCacheTTL = time.Hour
	tok := s.token(w.bureauCity)
	const day = "2026-03-02"
	paths := []string{"/api/v1/stats/overview?date=" + day, "/api/v1/stats/schools?date=" + day,
		"/api/v1/stats/breakdown?by=grade&date=" + day}
	for _, p := range paths {
		s.do("GET", p, tok, nil).want(t, 404, "no_snapshot")
	}
	if _, err := models.ComputeStats(context.Background(), other.db, day, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if r := s.do("GET", p, tok, nil).want(t, 200); r.JSON()["as_of"] != day {
			t.Fatalf("%s: %s", p, r.Body)
		}
	}
}

// TestStatsCacheNeverAcrossScopes: a caller with a wide scope reads (and so
// caches) an answer; a caller without that scope asking the same URL still
// gets 404, and a caller asking for "my own" gets its own.
func TestStatsCacheNeverAcrossScopes(t *testing.T) {
	w, _, _ := dashboardWorld(t)
	s := w.s
	cases := []struct {
		name       string
		first      models.User
		then       models.User
		path       string
		status     int
		wantScopeI int64 // for 200: the scope_id (or region_id) answered
	}{
		{"otherCountyRegion404", w.bureauCity, w.bureauCounty,
			fmt.Sprintf("/api/v1/stats/overview?region_id=%d", w.county2.ID), 404, 0},
		{"parentRegion404", w.bureauCity, w.bureauCounty,
			fmt.Sprintf("/api/v1/stats/overview?region_id=%d", w.city.ID), 404, 0},
		{"otherCountySchool404", w.bureauCity, w.bureauCounty,
			fmt.Sprintf("/api/v1/stats/overview?school_id=%d", w.b.ID), 404, 0},
		{"otherSchoolForSchoolAdmin404", w.bureauCity, w.adminA,
			fmt.Sprintf("/api/v1/stats/overview?school_id=%d", w.b.ID), 404, 0},
		{"schoolsOtherCounty404", w.bureauCity, w.bureauCounty,
			fmt.Sprintf("/api/v1/stats/schools?region_id=%d", w.county2.ID), 404, 0},
		{"trendOtherCounty404", w.bureauCity, w.bureauCounty2,
			fmt.Sprintf("/api/v1/stats/trend?metric=students&region_id=%d", w.county1.ID), 404, 0},
		{"breakdownOtherSchool404", w.bureauCity, w.adminA,
			fmt.Sprintf("/api/v1/stats/breakdown?by=grade&school_id=%d", w.b.ID), 404, 0},
		{"teacher403", w.adminA, w.teacherA, "/api/v1/stats/overview", 403, 0},
		{"defaultOverviewIsOwnRegion", w.bureauCity, w.bureauCounty, "/api/v1/stats/overview", 200, w.county1.ID},
		{"defaultOverviewIsOwnSchool", w.adminB, w.adminA, "/api/v1/stats/overview", 200, w.a.ID},
		{"defaultSchoolsIsOwnRegion", w.bureauCity, w.bureauCounty2, "/api/v1/stats/schools", 200, w.county2.ID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.do("GET", c.path, s.token(c.first), nil).want(t, 200)
			r := s.do("GET", c.path, s.token(c.then), nil)
			if c.status != 200 {
				r.want(t, c.status)
				return
			}
			m := r.want(t, 200).JSON()
			id, ok := m["scope_id"].(float64)
			if !ok {
				id, _ = m["region_id"].(float64)
			}
			if int64(id) != c.wantScopeI {
				t.Fatalf("answered scope %v, want %d: %s", id, c.wantScopeI, r.Body)
			}
		})
	}
}

// TestStatsCacheOtherInstance: a run by another instance on the same
// database is seen once the TTL has passed.
func TestStatsCacheOtherInstance(t *testing.T) {
	url := modelstest.URL(t)
	cfg := testConfig(t, url)
	a := newTestServerOn(t, modelstest.Open(t, url), cfg)
	b := newTestServerOn(t, modelstest.Open(t, url), cfg)
	const ttl = 200 * time.Millisecond
	b.api.StatsCacheTTL = ttl
	county := modelstest.Region(t, a.db, nil)
	school := modelstest.School(t, a.db, county.ID)
	modelstest.Student(t, a.db, school.ID, 2, "")
	bureau := modelstest.Staff(t, a.db, models.RoleBureauAdmin, 0, county.ID)
	today := models.LocalDate(time.Now())
	ctx := context.Background()
	if _, err := models.ComputeStats(ctx, a.db, today, time.Now()); err != nil {
		t.Fatal(err)
	}
	students := func(s *testServer) float64 {
		t.Helper()
		return s.do("GET", "/api/v1/stats/overview", s.token(bureau), nil).want(t, 200).JSON()["students"].(float64)
	}
	if got := students(b); got != 1 {
		t.Fatalf("instance b: students = %v, want 1", got)
	}
	modelstest.Student(t, a.db, school.ID, 2, "")
	if _, err := models.ComputeStats(ctx, a.db, today, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := students(a); got != 2 {
		t.Fatalf("instance a (wrote the snapshot): students = %v, want 2", got)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if got := students(b); got != 2 {
		t.Fatalf("instance b after the TTL: students = %v, want 2", got)
	}
}

// TestStatsCacheKeyOutlivesRequest: the query values in a cache key must
// not alias the request's buffers (Fiber reuses them for later requests), or
// a kept key would change under the map and answer another date.
func TestStatsCacheKeyOutlivesRequest(t *testing.T) {
	w := newSurveyWorld(t)
	s := w.s
	tok := s.token(w.bureauCity)
	days := []string{"2026-03-02", "2026-03-03", "2026-03-04"}
	for _, d := range days {
		if _, err := models.ComputeStats(context.Background(), s.db, d, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 30; i++ {
		for _, d := range days {
			for _, p := range []string{"/api/v1/stats/overview?date=", "/api/v1/stats/schools?date=",
				"/api/v1/stats/trend?metric=students&to=", "/api/v1/stats/breakdown?by=grade&date="} {
				r := s.do("GET", p+d, tok, nil).want(t, 200)
				if r.Body[0] == '[' { // trend: the last point is the day asked for
					if !bytes.Contains(r.Body, []byte(`"date":"`+d+`","value":3}]`)) {
						t.Fatalf("round %d: %s%s answered %s", i, p, d, r.Body)
					}
				} else if got := r.JSON()["as_of"]; got != d {
					t.Fatalf("round %d: %s%s answered as_of %v", i, p, d, got)
				}
			}
		}
	}
}
