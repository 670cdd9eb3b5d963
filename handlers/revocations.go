package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"kehou/models"
)

// revocations is this instance's view of revoked access tokens.
//
//	holds:     user id → token version, for the users whose tokens were
//	           revoked within an access token's life (AccessTTL + leeway)
//	retired:   replaced whole by a poll of the database, at most every
//	           RevocationPoll (default 1 s), run by the first request that
//	           finds it stale; others meanwhile use the previous view
//	staleness: RevocationPoll plus one query, on every instance, whichever
//	           instance made the change
//
// Access tokens are signed with the user's token version; disabling,
// demoting or moving a user, or logging out everywhere, bumps it
// (models.PatchUser, models.Logout). A poll reads only the users changed
// within a token's life, so its cost is the number of recent revocations,
// not of users, and a revocation older than that concerns only expired
// tokens. Tenancy is not decided here: the version only says a token is
// too old.
type revocations struct {
	db    *models.DB
	every time.Duration
	log   *slog.Logger

	polling  sync.Mutex // held by the request running a poll
	mu       sync.RWMutex
	versions map[int64]int64
	polledAt time.Time
	polled   bool
}

// revocationWindow is how far back a poll looks: the longest an access
// token signed before a revocation can still be accepted.
const revocationWindow = AccessTTL + time.Minute

// DefaultRevocationPoll is how often an instance re-reads recent token
// revocations.
const DefaultRevocationPoll = time.Second

// current reports whether a's token version is not older than its user's.
func (r *revocations) current(ctx context.Context, a models.Actor, now time.Time) bool {
	r.mu.RLock()
	stale := !r.polled || now.Sub(r.polledAt) >= r.every || now.Before(r.polledAt)
	r.mu.RUnlock()
	if stale {
		r.poll(ctx, now)
	}
	r.mu.RLock()
	v, revoked := r.versions[a.UserID]
	r.mu.RUnlock()
	return !revoked || a.TokenVersion >= v
}

// poll re-reads the recent revocations unless another request is already
// doing so (the very first poll is waited for). A failed poll keeps the
// previous view and is retried after the interval.
func (r *revocations) poll(ctx context.Context, now time.Time) {
	r.mu.RLock()
	first := !r.polled
	r.mu.RUnlock()
	if first {
		r.polling.Lock()
	} else if !r.polling.TryLock() {
		return
	}
	defer r.polling.Unlock()
	r.mu.RLock()
	done := r.polled && now.Sub(r.polledAt) < r.every && !now.Before(r.polledAt)
	r.mu.RUnlock()
	if done {
		return
	}
	versions, err := models.RecentTokenVersions(ctx, r.db, now.Add(-revocationWindow))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polledAt, r.polled = now, true
	if err != nil {
		if r.log != nil {
			r.log.WarnContext(ctx, "token revocation poll failed", "error", err.Error())
		}
		return
	}
	r.versions = versions
}

// revoked returns the API's revocation view, made on first use.
func (h *API) revoked() *revocations {
	h.revOnce.Do(func() {
		every := h.RevocationPoll
		if every <= 0 {
			every = DefaultRevocationPoll
		}
		h.rev = &revocations{db: h.DB, every: every, log: h.Log}
	})
	return h.rev
}
