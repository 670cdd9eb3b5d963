package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"strings"
	"testing"
)

// TestCompressedAssetsMatch: every big asset has a committed .gz that
// decompresses to exactly its source, and no .gz is left over; run
// `go generate ./console` after changing a file.
func TestCompressedAssetsMatch(t *testing.T) {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".gz") {
			src := strings.TrimSuffix(p, ".gz")
			body, err := fs.ReadFile(sub, src)
			if err != nil || !Compressible(src, len(body)) {
				t.Errorf("%s: stray .gz (run go generate ./console)", p)
			}
			return nil
		}
		body, _ := fs.ReadFile(sub, p)
		if !Compressible(p, len(body)) {
			return nil
		}
		gz, err := fs.ReadFile(sub, p+".gz")
		if err != nil {
			t.Errorf("%s: no .gz beside it (run go generate ./console)", p)
			return nil
		}
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Errorf("%s.gz: %v", p, err)
			return nil
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s.gz does not match %s (run go generate ./console)", p, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoad: the table names a version, templates index.html with the asset
// prefix and carries the compressed vendor library.
func TestLoad(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Version) != 12 || a.Prefix != "/static/"+a.Version+"/" {
		t.Fatalf("version %q prefix %q", a.Version, a.Prefix)
	}
	if bytes.Contains(a.Index.Body, []byte(versionMark)) || !bytes.Contains(a.Index.Body, []byte(a.Prefix)) {
		t.Fatalf("index.html not templated:\n%s", a.Index.Body)
	}
	if bytes.Contains(a.Index.Body, []byte("<script>")) {
		t.Fatal("index.html has an inline script")
	}
	found := false
	for _, n := range a.Names() {
		as, _ := a.Lookup(n)
		if strings.HasPrefix(n, "vendor/echarts-") && strings.HasSuffix(n, ".min.js") {
			found = true
			if as.Gzip == nil || len(as.Gzip)*2 > len(as.Body) {
				t.Fatalf("%s: gzip %d of %d bytes", n, len(as.Gzip), len(as.Body))
			}
		}
	}
	if !found {
		t.Fatal("no vendored ECharts")
	}
}
