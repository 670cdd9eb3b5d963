package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var assetRef = regexp.MustCompile(`(?:href|src|data-echarts)="(/static/[^"]+)"`)

// TestConsoleServed: GET / is the console page with its security headers,
// revalidated by ETag; its assets are immutable under the version prefix
// and sent pre-compressed to clients that accept gzip.
func TestConsoleServed(t *testing.T) {
	s := newTestServer(t)
	idx := s.do("GET", "/", "", nil).want(t, 200)
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := idx.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := idx.Header.Get("Content-Security-Policy")
	for _, d := range []string{"script-src 'self';", "frame-ancestors 'none'", "default-src 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(strings.SplitN(strings.SplitN(csp, "script-src", 2)[1], ";", 2)[0], "unsafe-inline") {
		t.Errorf("CSP allows inline or eval'd script: %q", csp)
	}
	if bytes.Contains(idx.Body, []byte("<script>")) || bytes.Contains(idx.Body, []byte(" onclick=")) {
		t.Error("index.html has inline script")
	}
	etag := idx.Header.Get("ETag")
	s.do("GET", "/", "", nil, "If-None-Match", etag).want(t, 304)

	refs := assetRef.FindAllSubmatch(idx.Body, -1)
	if len(refs) < 4 {
		t.Fatalf("index.html names %d assets:\n%s", len(refs), idx.Body)
	}
	t.Run("assets", func(t *testing.T) {
		for _, m := range refs {
			p := string(m[1])
			plain := s.do("GET", p, "", nil).want(t, 200)
			if cc := plain.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("%s: Cache-Control %q", p, cc)
			}
			if plain.Header.Get("Content-Encoding") != "" {
				t.Errorf("%s: encoded for a client that did not ask", p)
			}
			gz := s.do("GET", p, "", nil, "Accept-Encoding", "gzip, br")
			if len(plain.Body) < 2048 {
				continue
			}
			if gz.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s: %d bytes sent without gzip", p, len(plain.Body))
				continue
			}
			r, err := gzip.NewReader(bytes.NewReader(gz.Body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, plain.Body) {
				t.Errorf("%s: gzip body differs from the plain one", p)
			}
			if gz.Header.Get("ETag") == plain.Header.Get("ETag") {
				t.Errorf("%s: both encodings share one ETag", p)
			}
		}
	})
	t.Run("unknownAsset404", func(t *testing.T) {
		s.do("GET", "/static/x/js/nope.js", "", nil).want(t, 404)
	})
	t.Run("oldVersionNotCached", func(t *testing.T) {
		r := s.do("GET", "/static/000000000000/js/app.js", "", nil).want(t, 200)
		if r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}
	})
}

// TestConsolePageWeight: the bureau overview's own files, ECharts included,
// stay far under the 600 KB budget when compressed.
func TestConsolePageWeight(t *testing.T) {
	s := newTestServer(t)
	idx := s.do("GET", "/", "", nil, "Accept-Encoding", "gzip").want(t, 200)
	total := len(idx.Body)
	plainIdx := s.do("GET", "/", "", nil).Body
	for _, m := range assetRef.FindAllSubmatch(plainIdx, -1) {
		total += len(s.do("GET", string(m[1]), "", nil, "Accept-Encoding", "gzip").want(t, 200).Body)
	}
	t.Logf("console page, compressed: %d bytes", total)
	if total > 550<<10 {
		t.Fatalf("console page is %d bytes compressed", total)
	}
}

// TestListRegions: a bureau admin gets its subtree, parent first; a school
// admin is refused.
func TestListRegions(t *testing.T) {
	w := newSurveyWorld(t)
	s := w.s
	r := s.do("GET", "/api/v1/regions", s.token(w.bureauCity), nil).want(t, 200)
	items, _ := r.JSON()["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("city sees %d regions: %s", len(items), r.Body)
	}
	if first := items[0].(map[string]any); int64(first["id"].(float64)) != w.city.ID {
		t.Fatalf("first region %v, want the city", first)
	}
	r = s.do("GET", "/api/v1/regions", s.token(w.bureauCounty), nil).want(t, 200)
	items, _ = r.JSON()["items"].([]any)
	if len(items) != 1 || int64(items[0].(map[string]any)["schools"].(float64)) != 1 {
		t.Fatalf("county sees %s", r.Body)
	}
	s.do("GET", "/api/v1/regions", s.token(w.adminA), nil).want(t, http.StatusForbidden)
	s.do("GET", "/api/v1/regions", "", nil).want(t, http.StatusUnauthorized)
}
