package main

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// openapiMethods are the operation keys of an OpenAPI path item.
var openapiMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return doc
}

// TestOpenAPIParity fails when a registered route is missing from
// openapi.yaml, or openapi.yaml lists a route the server does not have.
func TestOpenAPIParity(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for m, op := range ops {
			if !openapiMethods[m] {
				continue
			}
			documented[strings.ToUpper(m)+" "+p] = true
			o, _ := op.(map[string]any)
			if r, _ := o["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("openapi.yaml: %s %s has no responses", strings.ToUpper(m), p)
			}
		}
	}
	s := newTestServer(t)
	served := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || r.Path == "" {
			continue // Fiber adds HEAD for every GET
		}
		served[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(served) < 13 {
		t.Fatalf("only %d routes registered: %v", len(served), served)
	}
	for _, k := range sortedKeys(served) {
		if !documented[k] {
			t.Errorf("route %s is registered but missing from openapi.yaml", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !served[k] {
			t.Errorf("openapi.yaml lists %s, which the server does not have", k)
		}
	}
}

// TestOpenAPIRefsResolve keeps the document usable as features add to it:
// every local $ref must name something that exists, and no key may be null
// (the usual sign of a comma in an unquoted value of a {flow: mapping},
// which YAML reads as a second key).
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version %q", v)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					ref, _ := c.(string)
					if !resolves(doc, ref) {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				if c == nil {
					t.Errorf("%s/%s is null: quote a value that holds a comma", at, k)
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range x {
				walk(c, at)
			}
		}
	}
	walk(doc, "")
}

func resolves(doc map[string]any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]; !ok {
			return false
		}
	}
	return true
}

func TestOpenAPIServed(t *testing.T) {
	s := newTestServer(t)
	want, _ := os.ReadFile("../openapi.yaml")
	r := s.do("GET", "/openapi.yaml", "", nil).want(t, 200)
	if string(r.Body) != string(want) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /openapi.yaml served %d bytes (%s), want the file's %d", len(r.Body), r.Header.Get("Content-Type"), len(want))
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
