package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

func TestLoginBackoff(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {4, 0},
		{5, 5 * time.Second}, {6, 10 * time.Second}, {7, 20 * time.Second}, {8, 40 * time.Second},
		{12, 640 * time.Second}, {13, 15 * time.Minute}, {40, 15 * time.Minute}, {1 << 30, 15 * time.Minute},
	}
	for _, c := range cases {
		if got := models.LoginBackoff(c.failures); got != c.want {
			t.Errorf("LoginBackoff(%d) = %v, want %v", c.failures, got, c.want)
		}
	}
}

// TestPurgeLoginThrottles: the retention purge drops the login throttles
// and change tokens that no longer decide anything, and keeps the rest.
func TestPurgeLoginThrottles(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	now := time.Now().UTC()
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	u := modelstest.Staff(t, db, models.RolePlatformAdmin, 0, 0)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.W.Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO login_failures (username, failures, locked_until_ms, last_failed_ms) VALUES
		('forgotten', 3, 0, ?), ('stillLocked', 20, ?, ?), ('recent', 2, 0, ?)`,
		ms(-48*time.Hour), ms(time.Hour), ms(-48*time.Hour), ms(-time.Minute))
	exec(`INSERT INTO rate_windows (bucket, opened_at, hits) VALUES ('login:old', ?, 5), ('login:now', ?, 5)`,
		now.Unix()-600, now.Unix())
	exec(`INSERT INTO password_change_tokens (token_hash, user_id, expires_ms) VALUES ('old', ?, ?), ('live', ?, ?)`,
		u.ID, ms(-time.Minute), u.ID, ms(time.Minute))
	n, err := models.PurgeExpired(context.Background(), db, now, models.DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("purged %d rows, want 3", n)
	}
	for q, want := range map[string]string{
		"SELECT username FROM login_failures ORDER BY username": "recent,stillLocked",
		"SELECT bucket FROM rate_windows":                       "login:now",
		"SELECT token_hash FROM password_change_tokens":         "live",
	} {
		var got []string
		db.R.Raw(q).Scan(&got)
		if strings.Join(got, ",") != want {
			t.Errorf("%s: left %v, want %s", q, got, want)
		}
	}
}

// TestLoginFailuresCountedUnderConcurrency: failures recorded at once from
// many connections (several instances on PostgreSQL) are all counted, and
// the lock is that of the final count.
func TestLoginFailuresCountedUnderConcurrency(t *testing.T) {
	url := modelstest.URL(t)
	dbs := []*models.DB{modelstest.Open(t, url), modelstest.Open(t, url)}
	const n = 24
	now := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- models.RecordLoginFailure(context.Background(), dbs[i%2], "hammered", now)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var row struct {
		Failures      int
		LockedUntilMs int64
	}
	if err := dbs[0].R.Raw("SELECT failures, locked_until_ms FROM login_failures WHERE username = 'hammered'").Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.Failures != n || row.LockedUntilMs != now.Add(models.LoginBackoff(n)).UnixMilli() {
		t.Fatalf("failures %d locked until %d; want %d and %d", row.Failures, row.LockedUntilMs, n, now.Add(models.LoginBackoff(n)).UnixMilli())
	}
}

// TestRateWindowAnchoredAtFirstHit: a burst that straddles a minute of the
// clock is counted whole (the window opens at its first hit and lasts 60
// s), Retry-After points at the window's end, and a new window opens after
// it.
func TestRateWindowAnchoredAtFirstHit(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 3, 16, 29, 58, 0, time.UTC) // two seconds before a minute boundary
	for i := range 3 {
		if err := models.HitRateWindow(ctx, db, "login:a", 3, start.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatalf("hit %d: %v", i+1, err)
		}
	}
	err := models.HitRateWindow(ctx, db, "login:a", 3, start.Add(3*time.Second))
	var e *models.Error
	if !errors.As(err, &e) || e.Code != "rate_limited" || e.RetryAfter != 57 {
		t.Fatalf("4th hit across the minute boundary: %v (want rate_limited, Retry-After 57)", err)
	}
	if err := models.HitRateWindow(ctx, db, "login:a", 3, start.Add(60*time.Second)); err != nil {
		t.Fatalf("a new window after 60 s: %v", err)
	}
}
