package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
)

// TestOneDefaultAndMaxPageSize: every list pages with the same sizes —
// openapi.yaml says so for every list operation through one Limit
// parameter, and every list the API answers refuses one more than the
// maximum alike and answers the maximum.
func TestOneDefaultAndMaxPageSize(t *testing.T) {
	doc := loadOpenAPI(t)
	comps, _ := doc["components"].(map[string]any)
	params, _ := comps["parameters"].(map[string]any)
	limit, _ := params["Limit"].(map[string]any)
	schema, _ := limit["schema"].(map[string]any)
	if schema["default"] != handlers.DefaultPageSize || schema["maximum"] != handlers.MaxPageSize {
		t.Errorf("components.parameters.Limit: default %v, maximum %v; the server pages by %d, at most %d",
			schema["default"], schema["maximum"], handlers.DefaultPageSize, handlers.MaxPageSize)
	}
	// Answers bounded by what they describe come whole (handlers/page.go):
	// a session's children, a student's guardians.
	whole := map[string]bool{"/api/v1/sessions/{id}/roll": true, "/api/v1/students/{id}/guardian-links": true}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		op, _ := ops["get"].(map[string]any)
		if op == nil || whole[p] || !answersPage(doc, op) {
			continue
		}
		refs := map[string]bool{}
		ps, _ := op["parameters"].([]any)
		for _, x := range ps {
			if m, _ := x.(map[string]any); m != nil {
				if r, _ := m["$ref"].(string); r != "" {
					refs[r] = true
				}
			}
		}
		for _, want := range []string{"#/components/parameters/Limit", "#/components/parameters/Cursor"} {
			if !refs[want] {
				t.Errorf("GET %s answers a page but does not take %s", p, want)
			}
		}
	}

	w := newPagesWorld(t)
	for _, l := range w.lists() {
		t.Run(l.name, func(t *testing.T) {
			r := w.do("GET", fmt.Sprintf("%s%climit=%d", l.path, sep(l.path), handlers.MaxPageSize+1), l.tok, nil).want(t, 400, "bad_param")
			if want := fmt.Sprintf("limit 须为 1-%d 的整数", handlers.MaxPageSize); r.JSON()["message"] != want {
				t.Errorf("message %v, want %q", r.JSON()["message"], want)
			}
			w.do("GET", fmt.Sprintf("%s%climit=0", l.path, sep(l.path)), l.tok, nil).want(t, 400, "bad_param")
			w.do("GET", fmt.Sprintf("%s%ccursor=*", l.path, sep(l.path)), l.tok, nil).want(t, 400, "bad_cursor")
			w.do("GET", fmt.Sprintf("%s%climit=%d", l.path, sep(l.path), handlers.MaxPageSize), l.tok, nil).want(t, 200)
		})
	}
}

// answersPage reports whether op's 200 answer is a page: an object with
// items and next_cursor.
func answersPage(doc map[string]any, op map[string]any) bool {
	res, _ := op["responses"].(map[string]any)
	ok, _ := res["200"].(map[string]any)
	content, _ := ok["content"].(map[string]any)
	j, _ := content["application/json"].(map[string]any)
	s, _ := j["schema"].(map[string]any)
	if r, _ := s["$ref"].(string); r != "" {
		s = resolveRef(doc, r)
	}
	props, _ := s["properties"].(map[string]any)
	return props["items"] != nil && props["next_cursor"] != nil
}

// resolveRef follows a local #/… reference.
func resolveRef(doc map[string]any, ref string) map[string]any {
	cur := doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur, _ = cur[part].(map[string]any)
	}
	return cur
}

// TestListsDefaultPage: without ?limit a list answers DefaultPageSize
// items and a cursor to the rest — the offerings as staff and as a parent
// (whose first page comes from the answer cache) and a club's sessions.
func TestListsDefaultPage(t *testing.T) {
	w := newEnrollWorld(t)
	// A school year of a daily base service (some 200 sessions) and
	// DefaultPageSize more clubs.
	year := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), w.adminTok, map[string]any{
		"name": "学年", "starts_on": "2026-09-01", "ends_on": "2027-07-10", "max_clubs": 2}).want(t, 201).JSON()
	daily := w.publishedOffering(t, func(b map[string]any) {
		b["term_id"], b["kind"], b["category"], b["name"], b["weekdays"] = year["id"], "basic", "homework", "托管", []int{1, 2, 3, 4, 5}
	})
	term, err := models.FindTermByID(t.Context(), w.db, w.termID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < handlers.DefaultPageSize; i++ {
		modelstest.Offering(t, w.db, w.admin, term, func(n *models.NewOffering) { n.Name = fmt.Sprintf("社团%03d", i) })
	}
	for _, c := range []struct {
		name, path, tok string
		total           int
	}{
		{"offeringsStaff", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok, handlers.DefaultPageSize + 1},
		{"offeringsParent", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.parentTok, handlers.DefaultPageSize + 1},
		{"offeringsChild", fmt.Sprintf("/api/v1/schools/%d/offerings?student_id=%d", w.schoolID, w.student.ID), w.parentTok, handlers.DefaultPageSize + 1},
		{"sessions", fmt.Sprintf("/api/v1/offerings/%d/sessions", daily), w.adminTok, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 2 { // the parent's second read is the cache's
				items, next := pageOf(t, w.do("GET", c.path, c.tok, nil).want(t, 200).Body)
				if len(items) != handlers.DefaultPageSize || next == "" {
					t.Fatalf("%d items, cursor %q: want %d and a cursor", len(items), next, handlers.DefaultPageSize)
				}
				rest, _ := pageOf(t, w.do("GET", c.path+string(sep(c.path))+"cursor="+next, c.tok, nil).want(t, 200).Body)
				if c.total > 0 && len(items)+len(rest) != c.total {
					t.Fatalf("%d + %d items, want %d", len(items), len(rest), c.total)
				}
				if len(rest) == 0 {
					t.Fatal("the cursor led to an empty page")
				}
			}
		})
	}
}

// TestTermsCurrentFlag: of a school's terms exactly the one in session
// today is current, in the list and in one term's answer; between terms
// the next to start is.
func TestTermsCurrentFlag(t *testing.T) {
	w := newEnrollWorld(t)
	today := time.Now().In(models.Zone)
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	mk := func(school int64, tok, name string, from, to int) map[string]any {
		return w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", school), tok, map[string]any{
			"name": name, "starts_on": day(from), "ends_on": day(to), "max_clubs": 2}).want(t, 201).JSON()
	}
	// The other school: a past term and one ahead (between terms).
	past := mk(w.otherSchoolID, w.otherAdminTok, "上学期", -200, -20)
	next := mk(w.otherSchoolID, w.otherAdminTok, "下学期", 20, 200)
	if past["current"] != false || next["current"] != true {
		t.Fatalf("between terms: past current=%v, next current=%v; want the next", past["current"], next["current"])
	}
	// This school: the world's term is over for this test's purposes only
	// if today is outside it; add one in session today and one ahead.
	now := mk(w.schoolID, w.adminTok, "本学期", -10, 60)
	mk(w.schoolID, w.adminTok, "下学期", 90, 200)
	if now["current"] != true {
		t.Fatalf("the term in session today: current=%v", now["current"])
	}
	for _, tok := range []string{w.adminTok, w.parentTok} {
		items, _ := pageOf(t, w.do("GET", fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID), tok, nil).want(t, 200).Body)
		var current []string
		for _, raw := range items {
			var term struct {
				Name     string `json:"name"`
				StartsOn string `json:"starts_on"`
				Current  *bool  `json:"current"`
			}
			if err := json.Unmarshal(raw, &term); err != nil || term.Current == nil {
				t.Fatalf("term %s: no current flag (%v)", raw, err)
			}
			if *term.Current {
				current = append(current, term.Name)
			}
		}
		// The world's term (2026-09-01 – 2027-01-20) started earlier than
		// 本学期 when both are in session: the latest start wins.
		if len(current) != 1 || current[0] != "本学期" {
			t.Fatalf("current terms %v, want [本学期]", current)
		}
	}
}
