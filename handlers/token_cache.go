package handlers

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"kehou/models"
)

// Verifying an access token (base64, JSON, HMAC) cost a sixth of a browse
// request's CPU, and in a rush every parent sends the same token again every
// few seconds. verifiedTokens remembers the actor of a token whose
// signature and claims were verified, until the token expires: a token
// string's signature and claims stay valid until its exp, so the cache
// changes no answer. Whether the token was revoked since (its user
// disabled, demoted, moved) is not the cache's to say: RequireAuth checks
// that for every request, cached or not (revocations.go). Only verified tokens are kept, keyed by the
// whole token string, so a forged token can never hit an entry.

const (
	tokenShards = 16
	// maxTokensPerShard bounds the cache (16 × 8192 tokens of ~300 bytes).
	maxTokensPerShard = 8192
)

type verifiedToken struct {
	actor models.Actor
	exp   time.Time
}

type tokenShard struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

type verifiedTokens struct {
	seed   maphash.Seed
	shards [tokenShards]tokenShard
}

func newVerifiedTokens() *verifiedTokens {
	v := &verifiedTokens{seed: maphash.MakeSeed()}
	for i := range v.shards {
		v.shards[i].m = map[string]verifiedToken{}
	}
	return v
}

func (v *verifiedTokens) shard(tok string) *tokenShard {
	return &v.shards[maphash.String(v.seed, tok)%tokenShards]
}

// get returns the actor of tok if it was verified and has not expired.
func (v *verifiedTokens) get(tok string, now time.Time) (models.Actor, bool) {
	s := v.shard(tok)
	s.mu.RLock()
	e, ok := s.m[tok]
	s.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return models.Actor{}, false
	}
	return e.actor, true
}

// put remembers a verified token until exp. A full shard first drops its
// expired tokens, and is emptied when that frees nothing.
func (v *verifiedTokens) put(tok string, a models.Actor, exp, now time.Time) {
	s := v.shard(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxTokensPerShard {
		for k, e := range s.m {
			if !now.Before(e.exp) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxTokensPerShard {
			s.m = map[string]verifiedToken{}
		}
	}
	// Fiber's header strings alias the connection's buffer, which the next
	// request overwrites: the key must own its bytes.
	s.m[strings.Clone(tok)] = verifiedToken{actor: a, exp: exp}
}
