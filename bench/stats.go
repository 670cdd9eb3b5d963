package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"kehou/models"
	"kehou/models/modelstest/province"
)

// The stats scenario: the province set is bulk-inserted, the server started
// on it, the stats job run once over HTTP (POST /api/v1/jobs/stats/run, as a
// platform admin; the request returns when the run has finished, so its
// duration is the job's), the snapshot checked against the inserted numbers,
// then the dashboards read by a bureau admin of the province.

// statsOn runs the stats scenario on engine name at dbURL.
func (b *bench) statsOn(ctx context.Context, name, dbURL string) error {
	o := b.o
	b.logf("[%s] building the province set: %d schools, %d students", name, o.ProvShape.Schools(), o.ProvShape.Students())
	t0 := time.Now()
	ps, err := buildProvince(ctx, dbURL, o.ProvShape)
	if err != nil {
		return err
	}
	b.logf("[%s] province: %d schools, %d students, %d enrollments in %v", name, ps.Schools(), ps.Students(), ps.Enrollments,
		time.Since(t0).Round(time.Millisecond))
	e, err := b.newEngine(ctx, name, dbURL)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.start(ctx); err != nil {
		return err
	}
	slow := &apiClient{lc: newLoadClient(e.srv.addr, 2, 30*time.Minute)}
	defer slow.lc.close()
	var tp tokenPair
	if err := e.api.call("POST", "/api/v1/auth/login", "", staffIP(10),
		map[string]string{"username": e.adminUser, "password": e.adminPass}, &tp); err != nil {
		return err
	}
	admin := tp.AccessToken
	buUser, buPass := "benchbureau"+e.suffix, "Bench"+randomHex(8)
	if err := e.api.call("POST", "/api/v1/users", admin, staffIP(10),
		map[string]any{"username": buUser, "password": buPass, "role": "bureau_admin", "region_id": ps.Root}, nil); err != nil {
		return err
	}
	if err := e.api.firstLogin(staffIP(11), buUser, buPass, &tp); err != nil {
		return err
	}
	bureau := tp.AccessToken

	t0 = time.Now()
	var run map[string]any
	if err := slow.call("POST", "/api/v1/jobs/stats/run", admin, staffIP(10), nil, &run); err != nil {
		return err
	}
	jobSecs := time.Since(t0).Seconds()
	b.logf("[%s] stats job: %.2f s, run record %v", name, jobSecs, run)
	if st, _ := run["status"].(string); st != "" && st != "ok" && st != "succeeded" && st != "success" && st != "done" {
		return fmt.Errorf("bench: stats job ended %q: %v", st, run["error"])
	}
	check, err := e.checkOverview(ctx, bureau, ps)
	if err != nil {
		return err
	}

	conns := min(32, o.BrowseConns)
	reads := []struct{ tag, path string }{
		{"overview_province", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", ps.Root)},
		{"overview_city", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", ps.City)},
		{"overview_county", fmt.Sprintf("/api/v1/stats/overview?region_id=%d", ps.County)},
		{"schools_county", fmt.Sprintf("/api/v1/stats/schools?region_id=%d", ps.County)},
	}
	lc := newLoadClient(e.srv.addr, conns, o.Timeout)
	waitProfile := e.profileDuring("dashboard", int(o.Duration.Seconds())-1)
	st := closedLoop(ctx, lc, conns, o.Duration, func(i int64) (loadRequest, bool) {
		r := reads[i%int64(len(reads))]
		return loadRequest{Method: "GET", Path: r.path, Token: bureau, IP: staffIP(11), Tag: r.tag}, true
	})
	waitProfile()
	lc.close()
	peak := e.stop()

	job := &scenarioResult{Engine: name, Name: "stats job", Conns: 1, Seconds: jobSecs, Requests: 1,
		Counts: map[string]int{"200": 1}, Extra: map[string]float64{"schools": float64(ps.Schools()),
			"students": float64(ps.Students()), "enrollments": float64(ps.Enrollments)},
		Invariants: check}
	b.rep.addScenario(job)
	job.describe(b.out)
	dash := summarize(st)
	dash.Engine, dash.Name, dash.Conns = name, "dashboard reads", conns
	for _, r := range reads {
		_, p99 := percentiles(st.filter(func(s sample) bool { return s.tag == r.tag }))
		dash.Extra[r.tag+"_p99_ms"] = p99
	}
	dash.PeakRSSMB = float64(peak) / (1 << 20)
	b.rep.addScenario(dash)
	dash.describe(b.out)

	scope := "stats"
	if !o.Province {
		scope = "stats (small set)"
	}
	b.rep.atMost(name, scope, fmt.Sprintf("stats job on %d students", ps.Students()), "s", jobSecs, 30)
	b.rep.exactly(name, scope, "snapshot differs from the data", "", float64(failed(check)), 0)
	b.rep.atMost(name, scope, "dashboard reads p99", "ms", dash.P99ms, 20)
	b.rep.exactly(name, scope, "dashboard 5xx and transport errors", "", float64(dash.Errors), 0)
	return nil
}

// buildProvince inserts the province into a freshly migrated database at
// dbURL.
func buildProvince(ctx context.Context, dbURL string, shape province.Shape) (province.Set, error) {
	db, err := models.Open(dbURL, models.Options{})
	if err != nil {
		return province.Set{}, err
	}
	defer db.Close()
	if _, err := models.Migrate(ctx, db); err != nil {
		return province.Set{}, err
	}
	return province.Generate(ctx, db, shape, time.Now())
}

// checkOverview compares the province overview the bureau admin reads with
// the same figures counted in the database (province.Count).
func (e *engine) checkOverview(ctx context.Context, token string, ps province.Set) ([]invariantResult, error) {
	var ov map[string]any
	path := fmt.Sprintf("/api/v1/stats/overview?region_id=%d", ps.Root)
	if err := e.api.call("GET", path, token, staffIP(11), nil, &ov); err != nil {
		return nil, err
	}
	db, err := e.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	c, err := province.Count(ctx, db)
	if err != nil {
		return nil, err
	}
	num := func(k string) float64 {
		if f, ok := ov[k].(float64); ok {
			return f
		}
		return math.NaN()
	}
	want := []struct {
		field string
		v     int64
	}{
		{"schools", c.Schools},
		{"students", c.Students},
		{"participants", c.Participants},
		{"schools_offering", c.SchoolsOffering},
		{"schools_5plus2", c.Schools5Plus2},
		{"clubs", c.Clubs},
		{"seats_filled", c.SeatsFilled},
		{"waitlisted", c.Waitlisted},
		{"responses", c.Responses},
	}
	var out []invariantResult
	for _, w := range want {
		got := num(w.field)
		r := invariantResult{Name: fmt.Sprintf("overview %s = %d", w.field, w.v), OK: got == float64(w.v) && w.v > 0}
		if !r.OK {
			r.Detail = fmt.Sprintf("got %v", got)
		}
		out = append(out, r)
	}
	return out, nil
}
