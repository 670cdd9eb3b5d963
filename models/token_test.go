package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestRefreshDoubleSubmitOnePair: one refresh token sent many times at
// once, over two connections (two instances on PostgreSQL), is rotated
// once: every answer is the same new token, issued at the same instant,
// and the family holds exactly two tokens.
func TestRefreshDoubleSubmitOnePair(t *testing.T) {
	url := modelstest.URL(t)
	dbs := []*models.DB{modelstest.Open(t, url), modelstest.Open(t, url)}
	u := modelstest.Staff(t, dbs[0], models.RolePlatformAdmin, 0, 0)
	ctx := context.Background()
	rt, err := models.IssueRefreshToken(ctx, dbs[0], u.ID)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	rots := make([]models.Rotation, n)
	errs := make([]error, n)
	now := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rots[i], errs[i] = models.RotateRefreshToken(ctx, dbs[i%2], rt, now)
		}()
	}
	wg.Wait()
	replayed := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("rotation %d: %v", i, errs[i])
		}
		if rots[i].Token != rots[0].Token || !rots[i].IssuedAt.Equal(rots[0].IssuedAt) || rots[i].User.ID != u.ID {
			t.Fatalf("rotation %d answered another pair", i)
		}
		if rots[i].Replayed {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Fatalf("%d replays, want %d", replayed, n-1)
	}
	var rows int64
	if err := dbs[0].R.Raw("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = ?", u.ID).Scan(&rows).Error; err != nil || rows != 2 {
		t.Fatalf("%d refresh tokens (%v), want 2", rows, err)
	}
	t.Run("wrongTokenCannotOpenTheSeal", func(t *testing.T) {
		// A token that is not the spent one is unknown, whatever the seal.
		_, err := models.RotateRefreshToken(ctx, dbs[0], rt+"x", now)
		if !errors.Is(err, models.ErrInvalidToken) {
			t.Fatalf("got %v", err)
		}
	})
}
