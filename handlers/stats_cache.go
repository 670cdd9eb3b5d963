package handlers

import (
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// Dashboards read snapshots, which change only when the stats job writes
// them, yet every read used to query and encode them again: at 32 bureau
// admins reading at once that was most of the request's time. The JSON
// answers of the dashboard reads are therefore kept pre-encoded, per
// endpoint, scope asked for, resolved parameters and caller's scope. An
// answer is served while models.SnapshotVersion has not moved since it was
// built (a snapshot write by this process retires it at once) and for
// API.StatsCacheTTL at most (which bounds how long a run by another instance
// on the same PostgreSQL goes unseen). The caller's scope is checked before
// the cache is consulted, so an answer only ever reaches callers allowed to
// read that scope. Concurrent misses for one answer wait for one build;
// errors are never kept. The cache is bounded in entries and bytes.

// DefaultStatsCacheTTL is the longest a cached dashboard answer is served
// when API.StatsCacheTTL is 0.
const DefaultStatsCacheTTL = 5 * time.Second

const (
	// maxStatsAnswers bounds the number of cached answers.
	maxStatsAnswers = 4096
	// maxStatsBytes bounds their total size; an answer over a quarter of it
	// is served but not kept.
	maxStatsBytes = 64 << 20
)

// statsAnswerKey names one answer: the endpoint, the scope read, the
// resolved parameters, and the caller's own scope.
type statsAnswerKey struct {
	endpoint string
	scope    models.StatScope
	params   string
	role     models.Role
	region   int64
	school   int64
}

// statsAnswer is one cached (or being built) answer.
type statsAnswer struct {
	version uint64
	at      time.Time
	ready   chan struct{} // closed when body/err are set
	body    []byte
	err     error
	size    int // bytes counted in statsAnswerCache.bytes (under its mu)
}

type statsAnswerCache struct {
	mu      sync.Mutex
	answers map[statsAnswerKey]*statsAnswer
	bytes   int
}

// statsCaches holds one cache per database handle, like offeringCaches.
var statsCaches sync.Map // *models.DB → *statsAnswerCache

func statsCacheFor(db *models.DB) *statsAnswerCache {
	return cacheFor(&statsCaches, db, func() *statsAnswerCache {
		return &statsAnswerCache{answers: map[statsAnswerKey]*statsAnswer{}}
	})
}

// get returns key's answer built at snapshot version version less than ttl
// before now, building it with build when there is none (one build per key
// at a time).
func (c *statsAnswerCache) get(key statsAnswerKey, version uint64, now time.Time, ttl time.Duration,
	build func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	a := c.answers[key]
	if a != nil && a.version == version && now.Sub(a.at) < ttl {
		c.mu.Unlock()
		<-a.ready
		if a.err == nil {
			return a.body, nil
		}
		return build() // the shared build failed (and was dropped); try alone
	}
	if a != nil {
		c.remove(key, a)
	}
	a = &statsAnswer{version: version, at: now, ready: make(chan struct{})}
	// Query values alias the request's buffers, which Fiber reuses after
	// the request: the kept key gets its own copy.
	key.params = strings.Clone(key.params)
	c.answers[key] = a
	c.evict(version, now, ttl)
	c.mu.Unlock()

	a.body, a.err = build()
	c.mu.Lock()
	if c.answers[key] == a {
		if a.err != nil || len(a.body) > maxStatsBytes/4 {
			delete(c.answers, key)
		} else {
			a.size = len(a.body)
			c.bytes += a.size
			c.evict(version, now, ttl)
		}
	}
	c.mu.Unlock()
	close(a.ready)
	return a.body, a.err
}

// remove drops key's answer a (c.mu held).
func (c *statsAnswerCache) remove(key statsAnswerKey, a *statsAnswer) {
	delete(c.answers, key)
	c.bytes -= a.size
	a.size = 0
}

// evict brings the cache back under its bounds (c.mu held): first the
// answers no longer served (older version, or expired), then arbitrary ones
// down to three quarters of the bounds, so a full cache is not scanned on
// every insertion.
func (c *statsAnswerCache) evict(version uint64, now time.Time, ttl time.Duration) {
	if len(c.answers) <= maxStatsAnswers && c.bytes <= maxStatsBytes {
		return
	}
	for k, a := range c.answers {
		if a.version != version || now.Sub(a.at) >= ttl {
			c.remove(k, a)
		}
	}
	for k, a := range c.answers { // map order: arbitrary victims
		if len(c.answers) <= maxStatsAnswers*3/4 && c.bytes <= maxStatsBytes*3/4 {
			return
		}
		c.remove(k, a)
	}
}

// len is the number of cached answers (tests).
func (c *statsAnswerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.answers)
}

// statsTTL is how long a cached dashboard answer is served; 0 or less
// (StatsCacheTTL < 0) turns the cache off.
func (h *API) statsTTL() time.Duration {
	if h.StatsCacheTTL == 0 {
		return DefaultStatsCacheTTL
	}
	return h.StatsCacheTTL
}

// statsJSON answers with the JSON of the value build returns, from the cache
// when it holds key's answer. The caller's scope must already have been
// checked against key.scope; it is added to key here.
func (h *API) statsJSON(c *fiber.Ctx, key statsAnswerKey, build func() (any, error)) error {
	encode := func() ([]byte, error) {
		v, err := build()
		if err != nil {
			return nil, err
		}
		return c.App().Config().JSONEncoder(v)
	}
	var body []byte
	var err error
	if ttl := h.statsTTL(); ttl > 0 {
		a := CurrentActor(c)
		key.role, key.region, key.school = a.Role, a.RegionID, a.SchoolID
		// The version is read before the query, so a run that ends while
		// the answer is built retires it.
		version := models.SnapshotVersion(h.DB)
		body, err = statsCacheFor(h.DB).get(key, version, time.Now(), ttl, encode)
	} else {
		body, err = encode()
	}
	if err != nil {
		return err
	}
	// As c.JSON answers.
	c.Response().SetBodyRaw(body)
	c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return nil
}
