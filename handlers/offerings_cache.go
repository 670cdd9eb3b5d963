package handlers

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// The offerings list a parent sees is the same for every parent of the
// school, and in an enrollment rush thousands of them reload it every few
// seconds. Building it (one query over the school's offerings, a DTO each,
// JSON) cost more than everything else in the request, so parents get a
// pre-encoded copy from a models.Answers (see the table in
// models/cache.go). A list is rebuilt once it is OfferingListWriteLag old
// and a write transaction of this process (models.DB.Generation) has ended
// since it was read, and once it is OfferingListTTL old in any case, which
// bounds how long a write by another instance on the same PostgreSQL can go
// unseen. Every batch of enrollments commits a write, so a list retired by
// each of them would be rebuilt many times a second in a rush; the write
// lag bounds that to ten a second per list. One request rebuilds a list at
// a time; the others get the list it replaces while that is still usable,
// else wait. Staff lists (drafts included) are never cached.

const (
	// OfferingListTTL is the longest a cached parent offerings list is
	// served (twice that while its successor is being built, if nothing
	// was written since).
	OfferingListTTL = time.Second
	// OfferingListWriteLag is how far a parent's list may lag the writes of
	// this process — other parents' writes: a parent who has just enrolled
	// or withdrawn gets a list that includes it.
	OfferingListWriteLag = 100 * time.Millisecond
)

// maxOfferingLists bounds the cached lists (per school and filter).
const maxOfferingLists = 10_000

type offeringListKey struct {
	school int64
	f      models.OfferingFilter
}

// offeringList is one list as JSON, and gzipped on first demand.
type offeringList struct {
	body   []byte
	gzOnce sync.Once
	gz     []byte
}

// gzipped returns the list gzipped (nil if compression failed).
func (l *offeringList) gzipped() []byte {
	l.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			return
		}
		if _, err := zw.Write(l.body); err != nil {
			return
		}
		if zw.Close() == nil {
			l.gz = buf.Bytes()
		}
	})
	return l.gz
}

// offeringListCache is the parents' lists and when each parent last wrote.
type offeringListCache struct {
	lists models.Answers[offeringListKey, *offeringList]

	mu sync.Mutex
	// wrote holds when each parent last enrolled or withdrew through this
	// process (entries older than OfferingListWriteLag are of no use).
	wrote map[int64]time.Time
}

func newOfferingListCache() *offeringListCache {
	return &offeringListCache{lists: models.Answers[offeringListKey, *offeringList]{MaxEntries: maxOfferingLists}}
}

// noteWrite records that parent userID changed enrollments just now. The
// cache keeps its own clock (the wall clock: ages of cached answers), apart
// from the business clock handlers pass to models (API.now).
func (c *offeringListCache) noteWrite(userID int64) { c.noteWriteAt(userID, time.Now()) }

func (c *offeringListCache) noteWriteAt(userID int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wrote == nil || len(c.wrote) >= maxOfferingLists {
		fresh := map[int64]time.Time{}
		for u, at := range c.wrote {
			if now.Sub(at) < OfferingListWriteLag {
				fresh[u] = at
			}
		}
		c.wrote = fresh
	}
	c.wrote[userID] = now
}

// lagFor is how far userID's list may lag this process's writes.
func (c *offeringListCache) lagFor(userID int64, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.wrote[userID]; ok && now.Sub(at) < OfferingListWriteLag {
		return 0
	}
	return OfferingListWriteLag
}

// get returns the list for key usable at generation gen (see above) by
// parent userID, building it with build when there is none (one build per
// key at a time). The list may lag this process's writes by
// OfferingListWriteLag, or not at all for a parent who just wrote, so a
// parent always sees its own enrollment.
func (c *offeringListCache) get(key offeringListKey, gen uint64, userID int64,
	build func() ([]byte, error)) (*offeringList, error) {
	return c.getAt(key, gen, time.Now(), userID, build)
}

func (c *offeringListCache) getAt(key offeringListKey, gen uint64, now time.Time, userID int64,
	build func() ([]byte, error)) (*offeringList, error) {
	lag := c.lagFor(userID, now)
	fresh := func(a *models.Answer[*offeringList], rebuilding bool) bool {
		ttl := OfferingListTTL
		if rebuilding {
			ttl = 2 * OfferingListTTL
		}
		age := now.Sub(a.At)
		return age < ttl && (a.Version == gen || age < lag)
	}
	a, err := c.lists.Get(key, gen, now, fresh, func() (*offeringList, error) {
		b, err := build()
		return &offeringList{body: b}, err
	})
	if err != nil {
		return nil, err
	}
	return a.Value, nil
}

// parentOfferingList answers a parent's GET /schools/{id}/offerings: 404
// unless a linked child is in the school, then the cached first page.
func (h *API) parentOfferingList(c *fiber.Ctx, schoolID int64, f models.OfferingFilter) error {
	ctx, a := c.UserContext(), CurrentActor(c)
	ok, err := models.ParentHasChildInSchool(ctx, h.DB, a.UserID, schoolID)
	if err != nil {
		return err
	}
	if !ok {
		return models.ErrNotFound
	}
	// The generation is read before the query, so a write that commits
	// while the list is built moves it and the list is not served again.
	gen := h.DB.Generation()
	l, err := h.caches().lists.get(offeringListKey{school: schoolID, f: f}, gen, a.UserID, func() ([]byte, error) {
		os, err := models.FindOfferings(ctx, h.DB, a, schoolID, f)
		if err != nil {
			return nil, err
		}
		items := make([]OfferingDTO, 0, len(os))
		for _, o := range os {
			items = append(items, NewOfferingDTO(o))
		}
		return json.Marshal(offsetPage(items, 0, DefaultPageSize))
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Vary(fiber.HeaderAcceptEncoding)
	if acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		// Sent compressed once, not per request: the list is some 25 KB
		// for a school's 60 clubs, and writing it was most of the cost.
		if gz := l.gzipped(); gz != nil {
			c.Set(fiber.HeaderContentEncoding, "gzip")
			return c.Send(gz)
		}
	}
	return c.Send(l.body)
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip (listed
// without q=0, or through * without q=0).
func acceptsGzip(h string) bool {
	// Cut in place, not Split: this runs on every parent's list request.
	star := false
	for h != "" {
		var part string
		part, h, _ = strings.Cut(h, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		zero := false
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					zero = true
				}
			}
		}
		switch {
		case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
			return !zero
		case name == "*":
			star = !zero
		}
	}
	return star
}
