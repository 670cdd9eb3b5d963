package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// changeTokens makes an account the way an admin does (it must change its
// password) and logs in n times with the maker's password: n change tokens.
func changeTokens(t *testing.T, db *models.DB, n int) (models.User, []string) {
	t.Helper()
	ctx := context.Background()
	admin := modelstest.Staff(t, db, models.RolePlatformAdmin, 0, 0)
	u, err := models.CreateUser(ctx, db, admin.Actor(), models.NewUser{Username: "made_" + modelstest.Engine(),
		Password: "Chosen123", Role: models.RolePlatformAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for range n {
		_, err := models.Authenticate(ctx, db, models.Credentials{Username: *u.Username, Password: "Chosen123", ClientAddr: "192.0.2.1"})
		var pcr *models.PasswordChangeRequired
		if !errors.As(err, &pcr) {
			t.Fatalf("login of a made account: %v", err)
		}
		toks = append(toks, pcr.Token)
	}
	return u, toks
}

// TestChangeTokensOneWinner: two change tokens of one account used at once
// set one password; the other answers ErrInvalidChangeToken, and the
// user's token version moved once.
func TestChangeTokensOneWinner(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	u, toks := changeTokens(t, db, 2)
	var wg sync.WaitGroup
	errs := make([]error, len(toks))
	for i, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = models.ChangePasswordWithToken(context.Background(), db, tok, "Winner"+string(rune('0'+i))+"234")
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, models.ErrInvalidChangeToken):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d tokens set a password, want 1 (%v)", won, errs)
	}
	after, err := models.FindUserByID(context.Background(), db, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.MustChangePassword || after.TokenVersion != u.TokenVersion+1 {
		t.Fatalf("must_change_password %v, token version %d (was %d)", after.MustChangePassword, after.TokenVersion, u.TokenVersion)
	}
}
