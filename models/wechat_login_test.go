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

func TestLoginWeChat(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)

	t.Run("concurrentFirstLoginsOneUser", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]int64, 10)
		errs := make([]error, 10)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "oRace", UnionID: "uRace"})
				ids[i], errs[i] = u.ID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("login %d: id %d err %v (first %d)", i, ids[i], errs[i], ids[0])
			}
		}
	})
	t.Run("unionidUpdated", func(t *testing.T) {
		u1, _ := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "oUnion"})
		u2, err := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "oUnion", UnionID: "uNew"})
		if err != nil || u2.ID != u1.ID || u2.UnionID == nil || *u2.UnionID != "uNew" || u2.Role != models.RoleParent {
			t.Fatalf("got %+v, %v", u2, err)
		}
	})
	t.Run("disabledRefused", func(t *testing.T) {
		u, _ := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "oDisabled"})
		db.W.Exec("UPDATE users SET disabled = ? WHERE id = ?", true, u.ID)
		if _, err := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "oDisabled"}); !errors.Is(err, models.ErrAccountDisabled) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("inactiveStudentNotLinkedByPhone", func(t *testing.T) {
		r := modelstest.Region(t, db, nil)
		sc := modelstest.School(t, db, r.ID)
		active := modelstest.Student(t, db, sc.ID, 2, "13511112222")
		gone := modelstest.Student(t, db, sc.ID, 6, "13511112222")
		db.W.Exec("UPDATE students SET active = ? WHERE id = ?", false, gone.ID)
		u, _ := models.LoginWeChat(ctx, db, models.WeChatIdentity{OpenID: "oInactive"})
		kids, err := models.BindPhone(ctx, db, u.ID, "13511112222")
		if err != nil || len(kids) != 1 || kids[0].ID != active.ID {
			t.Fatalf("children %+v, %v", kids, err)
		}
	})
}

func TestOutboxBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {8, time.Hour}, {30, time.Hour}} {
		if got := models.OutboxBackoff(tc.attempts); got != tc.want {
			t.Errorf("OutboxBackoff(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
}
