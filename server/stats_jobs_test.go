package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"kehou/jobs"
	"kehou/models"
	"kehou/models/modelstest"
)

func TestJobsEndpoints(t *testing.T) {
	s := newTestServer(t)
	runner := jobs.New(s.db, s.api.Log, jobs.Options{Instance: "test"})
	for _, j := range jobs.Defaults(nil) {
		runner.Register(j)
	}
	started, release := make(chan struct{}), make(chan struct{})
	runner.Register(jobs.Job{Name: "slow", Run: func(ctx context.Context, _ *models.DB, _ time.Time) (int64, error) {
		close(started)
		<-release
		return 0, nil
	}})
	runner.Register(jobs.Job{Name: "boom", Run: func(context.Context, *models.DB, time.Time) (int64, error) {
		var m map[string]int
		m["x"] = 1 // a nil-map panic inside a job
		return 0, nil
	}})
	s.api.Jobs = runner

	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	modelstest.Student(t, s.db, school.ID, 2, "")
	platform := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID)
	tok := s.token(platform)

	t.Run("runStats", func(t *testing.T) {
		r := s.do("POST", "/api/v1/jobs/stats/run", tok, nil).want(t, 200)
		m := r.JSON()
		if m["status"] != "succeeded" || m["trigger"] != "manual" || m["rows"].(float64) < 2 || m["ended_at"] == nil {
			t.Fatalf("run %s", r.Body)
		}
		// The dashboard now has today's snapshot.
		o := s.do("GET", "/api/v1/stats/overview", s.token(bureau), nil).want(t, 200)
		if o.JSON()["students"] != 1.0 {
			t.Fatalf("overview %s", o.Body)
		}
	})
	t.Run("runRetention", func(t *testing.T) {
		r := s.do("POST", "/api/v1/jobs/retention/run", tok, nil).want(t, 200)
		if r.JSON()["status"] != "succeeded" {
			t.Fatalf("run %s", r.Body)
		}
	})
	t.Run("lotteryAndOutboxRegistered", func(t *testing.T) {
		r := s.do("POST", "/api/v1/jobs/lottery/run", tok, nil).want(t, 200)
		if r.JSON()["status"] != "succeeded" {
			t.Fatalf("lottery run %s", r.Body)
		}
		// No WeChat client in this server: the outbox run fails, recorded.
		r = s.do("POST", "/api/v1/jobs/outbox/run", tok, nil).want(t, 200)
		if r.JSON()["status"] != "failed" || !strings.Contains(r.JSON()["error"].(string), "未配置微信") {
			t.Fatalf("outbox run %s", r.Body)
		}
	})
	t.Run("panicRecordedServerAlive", func(t *testing.T) {
		r := s.do("POST", "/api/v1/jobs/boom/run", tok, nil).want(t, 200)
		if r.JSON()["status"] != "failed" || !strings.Contains(r.JSON()["error"].(string), "panic") {
			t.Fatalf("run %s", r.Body)
		}
		s.do("GET", "/healthz", "", nil).want(t, 200)
	})
	t.Run("unknownJob404", func(t *testing.T) {
		s.do("POST", "/api/v1/jobs/nope/run", tok, nil).want(t, 404, "unknown_job")
	})
	t.Run("bureau403", func(t *testing.T) {
		s.do("POST", "/api/v1/jobs/stats/run", s.token(bureau), nil).want(t, 403, "forbidden")
		s.do("GET", "/api/v1/jobs/runs", s.token(bureau), nil).want(t, 403, "forbidden")
	})
	t.Run("running409", func(t *testing.T) {
		done := make(chan resp)
		go func() { done <- s.do("POST", "/api/v1/jobs/slow/run", tok, nil) }()
		<-started
		s.do("POST", "/api/v1/jobs/slow/run", tok, nil).want(t, 409, "job_running")
		close(release)
		if r := <-done; r.Status != 200 || r.JSON()["status"] != "succeeded" {
			t.Fatalf("first run %d %s", r.Status, r.Body)
		}
	})
	t.Run("listRuns", func(t *testing.T) {
		r := s.do("GET", "/api/v1/jobs/runs?name=stats&limit=10", tok, nil).want(t, 200)
		items := r.JSON()["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["name"] != "stats" {
			t.Fatalf("runs %s", r.Body)
		}
		all := s.do("GET", "/api/v1/jobs/runs", tok, nil).want(t, 200).JSON()["items"].([]any)
		if len(all) != 6 { // stats, retention, lottery, outbox, boom, slow
			t.Fatalf("%d runs listed, want 6", len(all))
		}
		s.do("GET", "/api/v1/jobs/runs?limit=0", tok, nil).want(t, 400, "bad_param")
	})
}
