package handlers

import (
	"testing"
	"time"
)

// TestOfferingListServesPreviousWhileRebuilding: a list retired by age alone
// is served while its successor is built; one retired by a write never is.
func TestOfferingListServesPreviousWhileRebuilding(t *testing.T) {
	c := &offeringListCache{lists: map[offeringListKey]*offeringList{}}
	key := offeringListKey{school: 1}
	t0 := time.Now()
	build := func(body string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(body), nil } }
	if l, err := c.get(key, 7, t0, build("v1")); err != nil || string(l.body) != "v1" {
		t.Fatalf("first build: %v, %v", l, err)
	}
	// Past the TTL, same generation: a slow rebuild starts...
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan *offeringList)
	later := t0.Add(OfferingListTTL + time.Millisecond)
	go func() {
		l, _ := c.get(key, 7, later, func() ([]byte, error) { close(started); <-release; return []byte("v2"), nil })
		done <- l
	}()
	<-started
	// ...and meanwhile readers get v1 at once.
	if l, err := c.get(key, 7, later, build("unused")); err != nil || string(l.body) != "v1" {
		t.Fatalf("during the rebuild: %q, %v; want the previous list", l.body, err)
	}
	close(release)
	if l := <-done; string(l.body) != "v2" {
		t.Fatalf("rebuild = %q", l.body)
	}
	if l, _ := c.get(key, 7, later, build("unused")); string(l.body) != "v2" {
		t.Fatalf("after the rebuild: %q", l.body)
	}
	// A write (new generation) retires the list: readers wait for the new
	// one and never see the old.
	release2 := make(chan struct{})
	started2 := make(chan struct{})
	go func() {
		_, _ = c.get(key, 8, later, func() ([]byte, error) { close(started2); <-release2; return []byte("v3"), nil })
	}()
	<-started2
	got := make(chan string)
	go func() { l, _ := c.get(key, 8, later, build("unused")); got <- string(l.body) }()
	select {
	case b := <-got:
		t.Fatalf("served %q while the list of the new generation was being built", b)
	case <-time.After(50 * time.Millisecond):
	}
	close(release2)
	if b := <-got; b != "v3" {
		t.Fatalf("after the write: %q, want v3", b)
	}
}
