package handlers

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kehou/models"
)

func newStatsCache() *statsAnswerCache { return newStatsAnswerCache() }

func regionKey(id int64) statsAnswerKey {
	return statsAnswerKey{endpoint: "overview", scope: models.StatScope{Type: models.ScopeRegion, ID: id}, params: "2026-09-10"}
}

func TestStatsAnswerCacheReuse(t *testing.T) {
	t0 := time.Now()
	const ttl = time.Second
	cases := []struct {
		name    string
		version uint64
		at      time.Time
		key     statsAnswerKey
		builds  int // builds after the first get
	}{
		{"sameVersionWithinTTLHit", 1, t0.Add(ttl - time.Millisecond), regionKey(1), 0},
		{"versionMovedRebuilt", 2, t0, regionKey(1), 1},
		{"expiredRebuilt", 1, t0.Add(ttl), regionKey(1), 1},
		{"otherScopeRebuilt", 1, t0, regionKey(2), 1},
		{"otherCallerRebuilt", 1, t0, func() statsAnswerKey { k := regionKey(1); k.region = 9; return k }(), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cache := newStatsCache()
			builds := 0
			build := func() ([]byte, error) { builds++; return []byte(`{"n":1}`), nil }
			if _, err := cache.get(regionKey(1), 1, t0, ttl, build); err != nil {
				t.Fatal(err)
			}
			body, err := cache.get(c.key, c.version, c.at, ttl, build)
			if err != nil || string(body) != `{"n":1}` {
				t.Fatalf("got %s, %v", body, err)
			}
			if builds-1 != c.builds {
				t.Fatalf("builds after the first = %d, want %d", builds-1, c.builds)
			}
		})
	}
}

func TestStatsAnswerCacheErrorNotKept(t *testing.T) {
	cache := newStatsCache()
	now := time.Now()
	boom := errors.New("boom")
	if _, err := cache.get(regionKey(1), 1, now, time.Minute, func() ([]byte, error) { return nil, boom }); err != boom {
		t.Fatalf("err = %v", err)
	}
	if n := cache.answers.Len(); n != 0 {
		t.Fatalf("a failed build was kept (%d answers)", n)
	}
	body, err := cache.get(regionKey(1), 1, now, time.Minute, func() ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(body) != "ok" {
		t.Fatalf("got %s, %v", body, err)
	}
}

func TestStatsAnswerCacheBounds(t *testing.T) {
	now := time.Now()
	t.Run("entriesBounded", func(t *testing.T) {
		cache := newStatsCache()
		for i := int64(1); i <= maxStatsAnswers+500; i++ {
			_, _ = cache.get(regionKey(i), 1, now, time.Minute, func() ([]byte, error) { return []byte("{}"), nil })
			if n := cache.answers.Len(); n > maxStatsAnswers {
				t.Fatalf("%d answers cached, bound %d", n, maxStatsAnswers)
			}
		}
	})
	t.Run("bytesBounded", func(t *testing.T) {
		cache := newStatsCache()
		big := make([]byte, maxStatsBytes/8)
		for i := int64(1); i <= 40; i++ {
			body, _ := cache.get(regionKey(i), 1, now, time.Minute, func() ([]byte, error) { return big, nil })
			if len(body) != len(big) {
				t.Fatalf("answer %d: %d bytes", i, len(body))
			}
			b := cache.answers.Bytes()
			if b > maxStatsBytes {
				t.Fatalf("%d bytes cached, bound %d", b, maxStatsBytes)
			}
		}
	})
	t.Run("oversizeServedNotKept", func(t *testing.T) {
		cache := newStatsCache()
		huge := make([]byte, maxStatsBytes/4+1)
		body, err := cache.get(regionKey(1), 1, now, time.Minute, func() ([]byte, error) { return huge, nil })
		if err != nil || len(body) != len(huge) {
			t.Fatalf("got %d bytes, %v", len(body), err)
		}
		if n := cache.answers.Len(); n != 0 {
			t.Fatalf("oversize answer kept")
		}
	})
	t.Run("staleEvictedFirst", func(t *testing.T) {
		cache := newStatsCache()
		for i := int64(1); i <= maxStatsAnswers; i++ {
			_, _ = cache.get(regionKey(i), 1, now, time.Minute, func() ([]byte, error) { return []byte("{}"), nil })
		}
		// One more at a new version: the old version's answers go, the
		// new one stays.
		_, _ = cache.get(regionKey(0), 2, now, time.Minute, func() ([]byte, error) { return []byte("{}"), nil })
		if n := cache.answers.Len(); n != 1 {
			t.Fatalf("%d answers left, want only the new version's", n)
		}
	})
}

func TestStatsAnswerCacheOneBuildForConcurrentMisses(t *testing.T) {
	cache := newStatsCache()
	now := time.Now()
	var builds atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	get := func() {
		body, err := cache.get(regionKey(1), 1, now, time.Minute, func() ([]byte, error) {
			builds.Add(1)
			close(started)
			<-release
			return []byte("x"), nil
		})
		if err != nil || string(body) != "x" {
			t.Errorf("got %s, %v", body, err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(16)
	go func() { defer wg.Done(); get() }()
	<-started
	for i := 0; i < 15; i++ {
		go func() { defer wg.Done(); get() }()
	}
	// Every other caller is waiting for the one build before it ends.
	for cache.answers.Waiting(regionKey(1)) != 15 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds, want 1", n)
	}
}
