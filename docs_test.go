package kehou

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Docs are checked like code: every file path and every Go identifier a
// document quotes in backticks (README.md, docs/*.md) must exist in the
// tree, so a rename or a removal that forgets its document fails here.
//
// What counts: a span whose first segment is a top-level directory of the
// repository (models/cache.go, models/migrations/, models/fee*.go as a
// glob), or a file name with an extension of the tree (cache.go, bench.md:
// some file of that name must exist); and a span that reads as a Go name —
// CamelCase or camelCase (LimitEnrollQueue, keysetPage), optionally
// qualified (models.Enroll, DB.Tx) or called (h.now(), Enroll(ctx, …)): each
// of its parts must be an identifier of the tree's Go (or console
// JavaScript) source. snake_case, lower-case words, ALL_CAPS, URLs, HTTP
// paths and commands are not names of the tree and are not checked.

// docsOutsideTree are the backticked names that are not in the tree on
// purpose (another program's, a library's not used by kehou's code).
var docsOutsideTree = map[string]bool{
	"VmHWM":                      true, // a field of Linux's /proc/PID/status
	"getPhoneNumber":             true, // the WeChat mini-program API
	"wx.requestSubscribeMessage": true, // the WeChat mini-program API
	"wx.requestPayment":          true, // the WeChat mini-program API
	"console/static/vendor/echarts-X.Y.Z.common.min.js": true, // the pattern of a vendored file's name
}

var (
	backtickSpan = regexp.MustCompile("`([^`\n]+)`")
	goName       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(.*\))?$`)
	wordRE       = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
)

// treeFacts are the names of the tree: every file's path and base name,
// and every identifier of its Go and JavaScript source.
type treeFacts struct {
	paths, bases, idents map[string]bool
	topDirs              map[string]bool
}

func readTree(t *testing.T) treeFacts {
	t.Helper()
	f := treeFacts{paths: map[string]bool{}, bases: map[string]bool{}, idents: map[string]bool{}, topDirs: map[string]bool{}}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" {
				return filepath.SkipDir
			}
			if !strings.Contains(p, "/") && p != "." {
				f.topDirs[p] = true
			}
			f.paths[p+"/"] = true
			return nil
		}
		f.paths[p] = true
		f.bases[d.Name()] = true
		switch filepath.Ext(p) {
		case ".go":
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var s scanner.Scanner
			fset := token.NewFileSet()
			s.Init(fset.AddFile(p, -1, len(src)), src, nil, 0)
			for {
				_, tok, lit := s.Scan()
				if tok == token.EOF {
					break
				}
				if tok == token.IDENT {
					f.idents[lit] = true
				}
			}
		case ".js":
			if strings.HasSuffix(p, ".min.js") || strings.Contains(p, "vendor") {
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, w := range wordRE.FindAllString(string(src), -1) {
				f.idents[w] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// isMixedCase reports a word with a lower-case and an upper-case letter
// (a Go name, not an error code, an SQL word or an environment variable).
func isMixedCase(w string) bool {
	return strings.ContainsAny(w, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
		!strings.Contains(w, "_")
}

// checkSpan returns why span names nothing of the tree ("" when it does,
// or when it is not a path or a Go name).
func (f treeFacts) checkSpan(span string) string {
	span = strings.TrimSpace(span)
	for _, outside := range []string{"/work/", "/home/", "/root/", "/tmp/", "~/"} {
		if strings.HasPrefix(span, outside) {
			return "points outside the repository: " + span
		}
	}
	if strings.Contains(span, "<") || strings.HasPrefix(span, ".") && !strings.Contains(span, "/") {
		return "" // a pattern (docs/bench/YYYY-MM-DD-<what>.md) or an extension (.js)
	}
	if docsOutsideTree[span] || span == "" || strings.ContainsAny(span, " \t") && !goName.MatchString(span) {
		return ""
	}
	// A path.
	if !strings.Contains(span, "://") && !strings.HasPrefix(span, "/") && !strings.Contains(span, ":") {
		first, _, hasSlash := strings.Cut(span, "/")
		if hasSlash && f.topDirs[first] {
			p := strings.TrimSuffix(span, "/")
			if strings.ContainsAny(p, "*?[") {
				if m, _ := filepath.Glob(p); len(m) == 0 {
					return "no file matches " + span
				}
				return ""
			}
			if !f.paths[p] && !f.paths[p+"/"] {
				return "no such path " + span
			}
			return ""
		}
		if !hasSlash {
			switch filepath.Ext(span) {
			case ".go", ".md", ".sql", ".yaml", ".js", ".css", ".html":
				if strings.ContainsAny(span, "*?[") {
					return ""
				}
				if !f.bases[span] {
					return "no file named " + span
				}
				return ""
			}
		}
	}
	// A Go name.
	if !goName.MatchString(span) {
		return ""
	}
	name, _, _ := strings.Cut(span, "(")
	parts := strings.Split(name, ".")
	if !isMixedCase(parts[len(parts)-1]) {
		return ""
	}
	for _, p := range parts {
		if isMixedCase(p) && !f.idents[p] {
			return "no identifier " + p
		}
	}
	return ""
}

// TestDocsNameWhatExists: every path and Go name quoted in README.md and
// docs/*.md exists in the tree.
func TestDocsNameWhatExists(t *testing.T) {
	f := readTree(t)
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append([]string{"README.md"}, docs...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		inFence := false
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inFence = !inFence
				continue
			}
			if inFence {
				continue
			}
			for _, m := range backtickSpan.FindAllStringSubmatch(line, -1) {
				if why := f.checkSpan(m[1]); why != "" {
					t.Errorf("%s:%d: %s", doc, i+1, why)
				}
			}
		}
	}
}

// TestDocsCheckerCatches: the checker itself flags what drifted and passes
// what exists (so a silent checker cannot pass the docs).
func TestDocsCheckerCatches(t *testing.T) {
	f := readTree(t)
	for span, bad := range map[string]bool{
		"models/stats_version.go": true, "models/cache.go": false, "NotifyGuardiansGone": true, "models.Enroll": false,
		"models/migrations/": false, "cache.go": false, "nosuchfile.go": true, "storage_full": false, "DATABASE_URL": false,
		"/api/v1/enrollments": false, "h.now()": false, "db.noSuchThing": true, "/work/notes/console.md": true,
	} {
		if got := f.checkSpan(span) != ""; got != bad {
			t.Errorf("checkSpan(%q) flags %v, want %v (%s)", span, got, bad, f.checkSpan(span))
		}
	}
}
