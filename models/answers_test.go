package models_test

import (
	"errors"
	"testing"
	"time"

	"kehou/models"
)

// TestAnswers: what Peek, Put, Fill and Get serve, by version and age.
func TestAnswers(t *testing.T) {
	now := time.Now()
	fresh := func(version uint64, ttl time.Duration) models.Fresh[int] {
		return func(a *models.Answer[int], _ bool) bool { return a.Version == version && now.Sub(a.At) < ttl }
	}
	t.Run("peekFreshPut", func(t *testing.T) {
		var c models.Answers[int, int]
		c.Put(1, 7, now, 42)
		if a, ok := c.Peek(1, fresh(7, time.Second)); !ok || a.Value != 42 {
			t.Fatalf("peek = %v, %v", a, ok)
		}
	})
	t.Run("peekVersionMoved", func(t *testing.T) {
		var c models.Answers[int, int]
		c.Put(1, 7, now, 42)
		if _, ok := c.Peek(1, fresh(8, time.Second)); ok {
			t.Fatal("served an answer of an older version")
		}
	})
	t.Run("peekExpired", func(t *testing.T) {
		var c models.Answers[int, int]
		c.Put(1, 7, now.Add(-time.Second), 42)
		if _, ok := c.Peek(1, fresh(7, time.Second)); ok {
			t.Fatal("served an expired answer")
		}
	})
	t.Run("fillBuildsOnce", func(t *testing.T) {
		var c models.Answers[int, int]
		builds := 0
		build := func() (int, error) { builds++; return 1, nil }
		c.Fill(1, 7, now, fresh(7, time.Second), build)
		c.Fill(1, 7, now, fresh(7, time.Second), build)
		if builds != 1 {
			t.Fatalf("%d builds, want 1", builds)
		}
	})
	t.Run("fillSkipsWhileBuilding", func(t *testing.T) {
		var c models.Answers[int, int]
		started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			_, _ = c.Get(1, 7, now, fresh(7, time.Second), func() (int, error) { close(started); <-release; return 1, nil })
		}()
		<-started
		c.Fill(1, 7, now, fresh(7, time.Second), func() (int, error) { t.Error("built twice"); return 2, nil })
		close(release)
		<-done
	})
	t.Run("errorNotKept", func(t *testing.T) {
		var c models.Answers[int, int]
		boom := errors.New("boom")
		if _, err := c.Get(1, 7, now, fresh(7, time.Second), func() (int, error) { return 0, boom }); err != boom {
			t.Fatalf("err = %v", err)
		}
		if c.Len() != 0 {
			t.Fatal("a failed build was kept")
		}
	})
	t.Run("entriesBounded", func(t *testing.T) {
		c := models.Answers[int, int]{MaxEntries: 8}
		for i := range 100 {
			c.Put(i, 7, now, i)
			if c.Len() > 8 {
				t.Fatalf("%d answers, bound 8", c.Len())
			}
		}
	})
}
