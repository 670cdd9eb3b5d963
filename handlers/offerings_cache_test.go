package handlers

import (
	"runtime"
	"testing"
	"time"
)

// TestOfferingListServesPreviousWhileRebuilding: a list retired by age alone
// is served while its successor is built; after a write it is served for
// OfferingListWriteLag at most, never while its successor is built past it.
func TestOfferingListServesPreviousWhileRebuilding(t *testing.T) {
	c := newOfferingListCache()
	key := offeringListKey{school: 1}
	const reader, writer = int64(1), int64(2) // parents; writer enrolls below
	t0 := time.Now()
	build := func(body string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(body), nil } }
	if l, err := c.getAt(key, 7, t0, reader, build("v1")); err != nil || string(l.body) != "v1" {
		t.Fatalf("first build: %v, %v", l, err)
	}
	// Past the TTL, same generation: a slow rebuild starts...
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan *offeringList)
	later := t0.Add(OfferingListTTL + time.Millisecond)
	go func() {
		l, _ := c.getAt(key, 7, later, reader, func() ([]byte, error) { close(started); <-release; return []byte("v2"), nil })
		done <- l
	}()
	<-started
	// ...and meanwhile readers get v1 at once.
	if l, err := c.getAt(key, 7, later, reader, build("unused")); err != nil || string(l.body) != "v1" {
		t.Fatalf("during the rebuild: %q, %v; want the previous list", l.body, err)
	}
	close(release)
	if l := <-done; string(l.body) != "v2" {
		t.Fatalf("rebuild = %q", l.body)
	}
	if l, _ := c.getAt(key, 7, later, reader, build("unused")); string(l.body) != "v2" {
		t.Fatalf("after the rebuild: %q", l.body)
	}
	// A write (new generation) within OfferingListWriteLag of the build
	// does not retire the list yet...
	if l, _ := c.getAt(key, 8, later.Add(OfferingListWriteLag/2), reader, build("unused")); string(l.body) != "v2" {
		t.Fatalf("just after a write: %q, want v2 (within the write lag)", l.body)
	}
	// ...past it, the list is retired: readers wait for the new one and
	// never see the old.
	past := later.Add(OfferingListWriteLag)
	release2 := make(chan struct{})
	started2 := make(chan struct{})
	go func() {
		_, _ = c.getAt(key, 8, past, reader, func() ([]byte, error) { close(started2); <-release2; return []byte("v3"), nil })
	}()
	<-started2
	got := make(chan string)
	go func() { l, _ := c.getAt(key, 8, past, reader, build("unused")); got <- string(l.body) }()
	// The reader waits for the build (it is not served the old list).
	for c.lists.Waiting(key) != 1 {
		select {
		case b := <-got:
			t.Fatalf("served %q while the list of the new generation was being built", b)
		default:
			runtime.Gosched()
		}
	}
	close(release2)
	if b := <-got; b != "v3" {
		t.Fatalf("after the write: %q, want v3", b)
	}
	// A parent who has just written accepts no lag: a write right after
	// the build retires the list for it.
	c.noteWriteAt(writer, past)
	if l, _ := c.getAt(key, 9, past.Add(time.Millisecond), writer, build("v4")); string(l.body) != "v4" {
		t.Fatalf("the writer's own read: %q, want v4", l.body)
	}
}

// TestAcceptsGzip: gzip (or x-gzip, any case) listed without q=0, or * without
// q=0 when gzip is not listed.
func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"gzip": true, "GZip": true, "deflate, gzip": true, " x-gzip ;q=0.5": true, "br, gzip;q=0.8": true,
		"*": true, "*;q=0, gzip": true, "gzip; q=1.0": true,
		"": false, "br": false, "identity": false, "gzip;q=0": false, "gzip; Q=0.000": false, "*;q=0": false,
		"gzip;q=0, *": false, "gzipx": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
