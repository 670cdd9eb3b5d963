// Package console holds the staff console: static HTML, CSS and JavaScript
// modules (no build step) embedded in the kehou binary, with the big files
// pre-compressed at build time (go generate writes a .gz beside each one;
// TestCompressedAssetsMatch keeps them in step).
//
// Every asset but index.html is served under /static/<Version>/, so its URL
// changes whenever any file changes and it can be cached for a year;
// index.html names that prefix and is revalidated on every load.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"
)

//go:generate go run ./gzgen static

//go:embed static
var files embed.FS

// MinCompress is the size from which an asset has a pre-compressed .gz
// beside it (smaller files gain little and cost a file each).
const MinCompress = 2048

// versionMark is the placeholder in index.html that becomes the asset prefix.
const versionMark = "__ASSETS__"

// Asset is one file the console serves.
type Asset struct {
	Name        string // path under static/, e.g. "js/app.js"
	ContentType string
	Body        []byte
	Gzip        []byte // the pre-compressed body, or nil
	ETag        string // strong ETag of Body
}

// Assets is the console's file table, built once from the embedded tree.
type Assets struct {
	// Version names this set of files: a hash of every file, so a changed
	// file is a new URL.
	Version string
	// Prefix is the URL path under which every asset but index.html is
	// served: /static/<Version>/.
	Prefix string
	Index  Asset
	byName map[string]Asset
}

// Load builds the file table of the embedded console.
func Load() (*Assets, error) {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	return LoadFS(sub)
}

// LoadFS builds the file table of a console tree (index.html at its root).
// A .gz file is the compressed form of the file it is named after, never an
// asset of its own.
func LoadFS(fsys fs.FS) (*Assets, error) {
	a := &Assets{byName: map[string]Asset{}}
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".gz") || path.Base(p) == "README.md" {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		body, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(body))
		h.Write(body)
		as := Asset{Name: n, ContentType: contentType(n), Body: body, ETag: etag(body)}
		if gz, err := fs.ReadFile(fsys, n+".gz"); err == nil {
			as.Gzip = gz
		}
		a.byName[n] = as
	}
	a.Version = hex.EncodeToString(h.Sum(nil))[:12]
	a.Prefix = "/static/" + a.Version + "/"
	idx, ok := a.byName["index.html"]
	if !ok {
		return nil, fmt.Errorf("console: no index.html")
	}
	delete(a.byName, "index.html")
	body := bytes.ReplaceAll(idx.Body, []byte(versionMark+"/"), []byte(a.Prefix))
	gz, err := Compress(body)
	if err != nil {
		return nil, err
	}
	a.Index = Asset{Name: "index.html", ContentType: idx.ContentType, Body: body, Gzip: gz, ETag: etag(body)}
	return a, nil
}

// Lookup finds the asset at name (a path under static/).
func (a *Assets) Lookup(name string) (Asset, bool) {
	as, ok := a.byName[name]
	return as, ok
}

// Names lists the assets (index.html excluded), sorted.
func (a *Assets) Names() []string {
	out := make([]string, 0, len(a.byName))
	for n := range a.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Compress is the build-time compression of an asset: gzip at the best
// level with no name and no time in the header, so the output depends on
// the input only.
func Compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Compressible reports whether an asset named name of size n gets a .gz.
func Compressible(name string, n int) bool {
	if n < MinCompress {
		return false
	}
	switch path.Ext(name) {
	case ".js", ".css", ".html", ".svg", ".json", ".txt":
		return true
	}
	return false
}

func etag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
