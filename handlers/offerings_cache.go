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
// pre-encoded copy. A list is rebuilt once it is OfferingListWriteLag old
// and a write transaction of this process (models.DB.Generation) has ended
// since it was read, and once it is OfferingListTTL old in any case, which
// bounds how long a write by another instance on the same PostgreSQL can go
// unseen. (Rebuilt after every write, as it first was, the list cost a third
// of the server's CPU in a rush of enrollments: each batch's commit retired it.)
// One request rebuilds a list at a time; the others get the list it
// replaces while that is still usable, else wait. Staff lists (drafts
// included) are never cached.

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

// offeringList is one cached (or being built) list.
type offeringList struct {
	gen   uint64
	at    time.Time
	ready chan struct{} // closed when body/err are set
	body  []byte
	err   error

	// prev is the list this one replaces, served while this one is built
	// if still usable, so the readers of a school do not all wait for each
	// rebuild. Guarded by the cache's mu; dropped when this list is ready.
	prev *offeringList

	// gz is body gzipped, made on the first request that accepts it.
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

func isReady(l *offeringList) bool {
	select {
	case <-l.ready:
		return true
	default:
		return false
	}
}

type offeringListCache struct {
	mu    sync.Mutex
	lists map[offeringListKey]*offeringList
	// wrote holds when each parent last enrolled or withdrew through this
	// process (entries older than OfferingListWriteLag are of no use).
	wrote map[int64]time.Time
}

// noteWrite records that parent userID changed enrollments at now.
func (c *offeringListCache) noteWrite(userID int64, now time.Time) {
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

// lagFor is how far userID's list may lag this process's writes; c.mu is
// held.
func (c *offeringListCache) lagFor(userID int64, now time.Time) time.Duration {
	if at, ok := c.wrote[userID]; ok && now.Sub(at) < OfferingListWriteLag {
		return 0
	}
	return OfferingListWriteLag
}

// offeringCaches holds one cache per database handle (an API is built once
// per process; tests build many, each on its own database).
var offeringCaches sync.Map // *models.DB → *offeringListCache

func offeringCacheFor(db *models.DB) *offeringListCache {
	return cacheFor(&offeringCaches, db, func() *offeringListCache {
		return &offeringListCache{lists: map[offeringListKey]*offeringList{}}
	})
}

// cacheFor returns db's cache in m, made by mk on first use.
func cacheFor[C any](m *sync.Map, db *models.DB, mk func() *C) *C {
	if c, ok := m.Load(db); ok {
		return c.(*C)
	}
	c, _ := m.LoadOrStore(db, mk())
	return c.(*C)
}

// get returns the list for key usable at generation gen (see above) by
// parent userID, building it with build when there is none (one build per
// key at a time). The list may lag this process's writes by
// OfferingListWriteLag, or not at all for a parent who just wrote, so a
// parent always sees its own enrollment.
func (c *offeringListCache) get(key offeringListKey, gen uint64, now time.Time, userID int64,
	build func() ([]byte, error)) (*offeringList, error) {
	var lag time.Duration
	usable := func(x *offeringList, ttl time.Duration) bool {
		age := now.Sub(x.at)
		return age < ttl && (x.gen == gen || age < lag)
	}
	c.mu.Lock()
	lag = c.lagFor(userID, now)
	l := c.lists[key]
	if l != nil && usable(l, OfferingListTTL) {
		prev := l.prev
		c.mu.Unlock()
		if prev != nil && !isReady(l) && usable(prev, 2*OfferingListTTL) {
			return prev, nil
		}
		<-l.ready
		if l.err == nil {
			return l, nil
		}
		c.mu.Lock()
		if c.lists[key] == l {
			delete(c.lists, key)
		}
		c.mu.Unlock()
		// The shared build failed; this caller tries itself.
		own := &offeringList{ready: make(chan struct{})}
		own.body, own.err = build()
		close(own.ready)
		return own, own.err
	}
	if len(c.lists) >= maxOfferingLists {
		c.lists = map[offeringListKey]*offeringList{}
	}
	old := l
	l = &offeringList{gen: gen, at: now, ready: make(chan struct{})}
	if old != nil && isReady(old) && old.err == nil {
		l.prev = old // served while l is built, if still usable
	}
	c.lists[key] = l
	c.mu.Unlock()
	l.body, l.err = build()
	close(l.ready)
	c.mu.Lock()
	l.prev = nil
	if l.err != nil && c.lists[key] == l {
		delete(c.lists, key)
	}
	c.mu.Unlock()
	return l, l.err
}

// parentOfferingList answers a parent's GET /schools/{id}/offerings: 404
// unless a linked child is in the school, then the cached list.
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
	l, err := offeringCacheFor(h.DB).get(offeringListKey{school: schoolID, f: f}, gen, time.Now(), a.UserID, func() ([]byte, error) {
		os, err := models.FindOfferings(ctx, h.DB, a, schoolID, f)
		if err != nil {
			return nil, err
		}
		out := Page[OfferingDTO]{Items: make([]OfferingDTO, 0, len(os))}
		for _, o := range os {
			out.Items = append(out.Items, NewOfferingDTO(o))
		}
		return json.Marshal(out)
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
