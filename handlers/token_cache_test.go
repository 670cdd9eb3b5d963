package handlers

import (
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"kehou/models"
)

func TestVerifiedTokenCache(t *testing.T) {
	tk := NewTokens([]byte("0123456789abcdef0123456789abcdef"), "k1")
	clock := time.Now()
	tk.now = func() time.Time { return clock }
	a := models.Actor{UserID: 42, Role: models.RoleParent}
	tok, err := tk.Sign(a, clock)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second Verify is answered by the cache
		got, err := tk.Verify(tok)
		if err != nil || got != a {
			t.Fatalf("Verify #%d = %+v, %v; want %+v", i+1, got, err, a)
		}
	}
	if _, ok := tk.verified.get(tok, clock); !ok {
		t.Fatal("a verified token was not cached")
	}
	// A token differing in one byte of its signature is never a hit.
	forged := tok[:len(tok)-2] + string("AB"[len(tok)%2]) + tok[len(tok)-1:]
	if forged != tok {
		if _, err := tk.Verify(forged); !errors.Is(err, models.ErrInvalidToken) {
			t.Fatalf("forged token: err = %v, want ErrInvalidToken", err)
		}
	}
	// Past exp the cached entry is refused, and the parser refuses it too
	// once its leeway has passed.
	clock = clock.Add(AccessTTL)
	if _, ok := tk.verified.get(tok, clock); ok {
		t.Fatal("cache served a token at its exp")
	}
	tk2 := NewTokens(tk.Secret, "k1")
	tk2.now = func() time.Time { return clock }
	old, _ := tk2.Sign(a, time.Now().Add(-AccessTTL-time.Minute))
	if _, err := tk2.Verify(old); !errors.Is(err, models.ErrTokenExpired) {
		t.Fatalf("expired token: err = %v", err)
	}
}

func TestVerifiedTokenCacheBounded(t *testing.T) {
	v := newVerifiedTokens()
	now := time.Now()
	for i := 0; i < tokenShards*maxTokensPerShard*2; i++ {
		v.put(fmt.Sprintf("tok-%d", i), models.Actor{UserID: int64(i)}, now.Add(time.Minute), now)
	}
	for i := range v.shards {
		if n := len(v.shards[i].m); n > maxTokensPerShard {
			t.Fatalf("shard %d holds %d tokens, bound %d", i, n, maxTokensPerShard)
		}
	}
}

// Fiber hands out header strings that alias the connection's buffer; a
// cached key that aliased it would turn into the next request's token and
// answer that token with the first one's actor.
func TestVerifiedTokenCacheOwnsKeys(t *testing.T) {
	v := newVerifiedTokens()
	now := time.Now()
	tokA, tokB := "header.payload-of-user-a.sig", "header.payload-of-user-b.sig"
	buf := []byte(tokA)
	v.put(unsafe.String(&buf[0], len(buf)), models.Actor{UserID: 1}, now.Add(time.Minute), now)
	copy(buf, tokB) // the connection reads its next request
	if a, ok := v.get(tokB, now); ok {
		t.Fatalf("token B answered with user %d from token A's entry", a.UserID)
	}
	if a, ok := v.get(tokA, now); !ok || a.UserID != 1 {
		t.Fatalf("token A = %+v, %v", a, ok)
	}
}

// TestAccessLeeway: a token is accepted up to AccessLeeway past its exp,
// and answers token_expired after it (it was accepted 22 s past exp with
// the old 30 s leeway).
func TestAccessLeeway(t *testing.T) {
	tk := NewTokens([]byte("0123456789abcdef0123456789abcdef"), "k1")
	signed := time.Now().Truncate(time.Second)
	tok, err := tk.Sign(models.Actor{UserID: 7, Role: models.RoleTeacher}, signed)
	if err != nil {
		t.Fatal(err)
	}
	exp := signed.Add(AccessTTL)
	for _, c := range []struct {
		at   time.Time
		want error
	}{
		{exp.Add(AccessLeeway - time.Second), nil},
		{exp.Add(AccessLeeway + time.Second), models.ErrTokenExpired},
		{exp.Add(22 * time.Second), models.ErrTokenExpired},
	} {
		tk.now = func() time.Time { return c.at }
		if _, err := tk.Verify(tok); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%v past exp: %v, want %v", c.at.Sub(exp), err, c.want)
		}
	}
}
