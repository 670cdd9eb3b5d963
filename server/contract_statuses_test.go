package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
)

// Every answer a test server gives is checked against openapi.yaml: the
// status must be listed for the operation (method + path template) that
// answered it, because generated clients (the mini-program's, the
// console's) only decode what the spec lists; and an error's code must be
// listed for that operation and status, in the operation's
// `x-error-codes` or in the document's `x-common-error-codes` (the codes
// any operation answering that status may give: 401's token codes, 503
// `timeout` …), so the app's developers know every code a screen must
// handle. Each test server collects what it saw in do() and reports, at
// the end of its test, every status and code the spec does not list.
// Paths no operation matches (unknown routes) are not checked here.

type specOperation struct {
	method, path string
	re           *regexp.Regexp
	params       int
	statuses     map[string]bool
	// codes are the error codes listed per status: the operation's
	// x-error-codes and the document's x-common-error-codes.
	codes map[string]map[string]bool
	// bodies are the JSON schemas of the operation's answers, by status.
	bodies map[string]any
	doc    map[string]any
}

var specOperations = sync.OnceValues(func() ([]specOperation, error) {
	b, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths  map[string]map[string]any `yaml:"paths"`
		Common map[string][]string       `yaml:"x-common-error-codes"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var whole map[string]any
	if err := yaml.Unmarshal(b, &whole); err != nil {
		return nil, err
	}
	if len(doc.Common) == 0 {
		return nil, fmt.Errorf("openapi.yaml has no x-common-error-codes")
	}
	param := regexp.MustCompile(`\{[^}/]+\}`)
	var ops []specOperation
	for p, item := range doc.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(p, "[^/]+") + "$")
		for m, raw := range item {
			if !openapiMethods[m] {
				continue
			}
			op, _ := raw.(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			st := map[string]bool{}
			bodies := map[string]any{}
			for code, r := range responses {
				st[code] = true
				rm, _ := r.(map[string]any)
				content, _ := rm["content"].(map[string]any)
				if j, _ := content["application/json"].(map[string]any); j != nil && j["schema"] != nil {
					bodies[code] = j["schema"]
				}
			}
			codes := map[string]map[string]bool{}
			add := func(status string, list []string) {
				if codes[status] == nil {
					codes[status] = map[string]bool{}
				}
				for _, c := range list {
					codes[status][c] = true
				}
			}
			for status, list := range doc.Common {
				add(status, list)
			}
			own, _ := op["x-error-codes"].(map[string]any)
			for status, raw := range own {
				l, _ := raw.([]any)
				for _, c := range l {
					cs, ok := c.(string)
					if !ok {
						return nil, fmt.Errorf("%s %s: x-error-codes %s lists %v, not a code", m, p, status, c)
					}
					add(status, []string{cs})
				}
				if !st[status] {
					return nil, fmt.Errorf("%s %s: x-error-codes lists status %s, which its responses do not", m, p, status)
				}
			}
			ops = append(ops, specOperation{method: strings.ToUpper(m), path: p, re: re,
				params: len(param.FindAllString(p, -1)), statuses: st, codes: codes, bodies: bodies, doc: whole})
		}
	}
	// The most literal template wins (/jobs/runs before /jobs/{name}).
	sort.Slice(ops, func(i, j int) bool { return ops[i].params < ops[j].params })
	return ops, nil
})

// specOperationFor returns the operation of openapi.yaml that a request to
// method and path (query string allowed) belongs to.
func specOperationFor(method, path string) (specOperation, bool) {
	ops, err := specOperations()
	if err != nil {
		return specOperation{}, false
	}
	path, _, _ = strings.Cut(path, "?")
	for _, op := range ops {
		if op.method == method && op.re.MatchString(path) {
			return op, true
		}
	}
	return specOperation{}, false
}

// statusLedger collects the answers a test server gave that openapi.yaml
// does not list.
type statusLedger struct {
	mu           sync.Mutex
	undocumented map[string]bool
}

// note records method path → status (and, for an error, its code) when
// the spec does not list it, and a success whose JSON body lacks a field
// its schema requires (a generated client types it as always there).
func (l *statusLedger) note(method, path string, status int, code string, ctype string, body []byte) {
	op, ok := specOperationFor(method, path)
	if !ok {
		return
	}
	st := strconv.Itoa(status)
	var miss string
	switch {
	case !op.statuses[st] && !op.statuses["default"]:
		miss = fmt.Sprintf("%s %s answered %d, which openapi.yaml does not list", op.method, op.path, status)
	case status >= 400 && code != "" && !op.codes[st][code]:
		miss = fmt.Sprintf("%s %s answered %d %s, which openapi.yaml does not list (add it to the operation's x-error-codes)",
			op.method, op.path, status, code)
	case status < 300 && op.bodies[st] != nil && strings.HasPrefix(ctype, "application/json"):
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		if where := missingRequired(op.doc, op.bodies[st], v, "body"); where != "" {
			miss = fmt.Sprintf("%s %s answered %d without %s, which its schema requires", op.method, op.path, status, where)
		} else {
			return
		}
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.undocumented == nil {
		l.undocumented = map[string]bool{}
	}
	l.undocumented[miss] = true
}

// missingRequired walks value v along schema (local $refs, allOf, arrays,
// nullable) and names the first required property v lacks ("" when none).
// Only presence is checked: the types are the typed client test's.
func missingRequired(doc map[string]any, schema, v any, where string) string {
	s, _ := schema.(map[string]any)
	if r, _ := s["$ref"].(string); r != "" {
		return missingRequired(doc, resolveRef(doc, r), v, where)
	}
	if v == nil {
		return ""
	}
	if all, _ := s["allOf"].([]any); all != nil {
		for _, sub := range all {
			if w := missingRequired(doc, sub, v, where); w != "" {
				return w
			}
		}
	}
	switch x := v.(type) {
	case []any:
		for i, it := range x {
			if w := missingRequired(doc, s["items"], it, fmt.Sprintf("%s[%d]", where, i)); w != "" {
				return w
			}
		}
	case map[string]any:
		req, _ := s["required"].([]any)
		for _, f := range req {
			if _, ok := x[f.(string)]; !ok {
				return where + "." + f.(string)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for name, ps := range props {
			if fv, ok := x[name]; ok {
				if w := missingRequired(doc, ps, fv, where+"."+name); w != "" {
					return w
				}
			}
		}
	}
	return ""
}

// report fails t for every undocumented answer.
func (l *statusLedger) report(t testing.TB) {
	if _, err := specOperations(); err != nil {
		t.Errorf("openapi.yaml: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range sortedKeys(l.undocumented) {
		t.Errorf("%s", k)
	}
}

// TestOpenAPIOperationsNamed: every operation has an operationId, in
// camelCase, unique in the document (generated clients name their methods
// from it).
func TestOpenAPIOperationsNamed(t *testing.T) {
	doc := loadOpenAPI(t)
	camel := regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)
	seen := map[string]string{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for m, op := range ops {
			if !openapiMethods[m] {
				continue
			}
			where := strings.ToUpper(m) + " " + p
			o, _ := op.(map[string]any)
			id, _ := o["operationId"].(string)
			switch {
			case id == "":
				t.Errorf("%s has no operationId", where)
			case !camel.MatchString(id):
				t.Errorf("%s: operationId %q is not camelCase", where, id)
			case seen[id] != "":
				t.Errorf("operationId %q names both %s and %s", id, seen[id], where)
			default:
				seen[id] = where
			}
		}
	}
}

// TestEveryRouteAnswersOnlyDocumentedStatuses probes every registered
// route with what routes_fuzz_test does not send — an id that does not
// exist, and a JSON body over the JSON limit — as every role, so that the
// answers (404, 413, 403 …) are checked against openapi.yaml by the
// server's status ledger.
func TestEveryRouteAnswersOnlyDocumentedStatuses(t *testing.T) {
	s := newTestServer(t)
	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	st := modelstest.Student(t, s.db, school.ID, 3, "13800138000")
	tokens := []string{""}
	for _, u := range []models.User{
		modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0),
		modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID),
		modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0),
		modelstest.Staff(t, s.db, models.RoleTeacher, school.ID, 0),
		modelstest.Parent(t, s.db, st.ID),
	} {
		tokens = append(tokens, s.token(u))
	}
	big := `{"name":"` + strings.Repeat("x", handlers.JSONBodyLimit) + `"}`
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || r.Path == "" {
			continue
		}
		path := fillParams(r.Path, "999999999")
		for _, tok := range tokens {
			s.do(r.Method, path, tok, nil)
			if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
				s.do(r.Method, path, tok, map[string]any{})
				if tok != "" { // an anonymous 413 comes from fasthttp: see TestUnauthenticatedBodyRefusedBeforeRead
					s.do(r.Method, path, tok, big)
				}
			}
		}
	}
}
