package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// Dashboards read snapshots, which change only when the stats job writes
// them, so their JSON answers are kept pre-encoded in a models.Answers (see
// the table in models/cache.go), per endpoint, scope asked for, resolved
// parameters and caller's scope. An answer is served while
// models.SnapshotVersion has not moved since it was built (a snapshot write
// by this process retires it at once) and for API.StatsCacheTTL at most
// (which bounds how long a run by another instance on the same PostgreSQL
// goes unseen). The caller's scope is checked before the cache is
// consulted, so an answer only ever reaches callers allowed to read that
// scope. The cache is bounded in entries and bytes.

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

// statsAnswerCache holds the dashboards' answers.
type statsAnswerCache struct {
	answers models.Answers[statsAnswerKey, []byte]
}

func newStatsAnswerCache() *statsAnswerCache {
	return &statsAnswerCache{answers: models.Answers[statsAnswerKey, []byte]{MaxEntries: maxStatsAnswers,
		MaxBytes: maxStatsBytes, Size: func(b []byte) int { return len(b) }}}
}

// get returns key's answer built at snapshot version version less than ttl
// before now, building it with build when there is none (one build per key
// at a time).
func (c *statsAnswerCache) get(key statsAnswerKey, version uint64, now time.Time, ttl time.Duration,
	build func() ([]byte, error)) ([]byte, error) {
	// Query values alias the request's buffers, which Fiber reuses after
	// the request: the kept key gets its own copy.
	key.params = strings.Clone(key.params)
	fresh := func(a *models.Answer[[]byte], _ bool) bool { return a.Version == version && now.Sub(a.At) < ttl }
	a, err := c.answers.Get(key, version, now, fresh, build)
	if err != nil {
		return nil, err
	}
	return a.Value, nil
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
		body, err = h.caches().stats.get(key, version, time.Now(), ttl, encode)
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
