package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The contract tests (contract_*_test.go) send SPEC.md's examples as they
// are written and check that the answers carry SPEC's field names with the
// types SPEC implies. They are deliberately literal: a renamed or retyped
// field fails here even when the feature's own tests still pass.

var (
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	clockRe = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
)

// shape names the JSON type each field must have:
//
//	int, num, str, bool, arr, obj   the JSON type (int: a whole number)
//	date                            a YYYY-MM-DD string
//	time                            an RFC 3339 string
//	clock                           an HH:MM string
//	T?                              T or null (the key must be present)
type shape map[string]string

// decodeObject decodes body as one JSON object, keeping numbers exact.
func decodeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, body)
	}
	return m
}

// checkShape fails the test for every field of want that m lacks or holds
// with another type. Extra fields are allowed (SPEC: "more may be added").
func checkShape(t *testing.T, what string, m map[string]any, want shape) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kind := want[k]
		v, ok := m[k]
		if !ok {
			t.Errorf("%s: field %q missing (have %v)", what, k, sortedKeys(m))
			continue
		}
		nullable := strings.HasSuffix(kind, "?")
		kind = strings.TrimSuffix(kind, "?")
		if v == nil {
			if !nullable {
				t.Errorf("%s: field %q is null, want %s", what, k, kind)
			}
			continue
		}
		if !isKind(v, kind) {
			t.Errorf("%s: field %q = %#v, want %s", what, k, v, kind)
		}
	}
}

func isKind(v any, kind string) bool {
	switch kind {
	case "int":
		switch n := v.(type) {
		case json.Number:
			_, err := n.Int64()
			return err == nil
		case float64:
			return n == float64(int64(n))
		}
		return false
	case "num":
		switch v.(type) {
		case json.Number, float64:
			return true
		}
		return false
	case "str":
		_, ok := v.(string)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "arr":
		_, ok := v.([]any)
		return ok
	case "obj":
		_, ok := v.(map[string]any)
		return ok
	case "date":
		s, ok := v.(string)
		if !ok || !dateRe.MatchString(s) {
			return false
		}
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	case "time":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339, s)
		return err == nil
	case "clock":
		s, ok := v.(string)
		return ok && clockRe.MatchString(s)
	}
	panic("unknown kind " + kind)
}

// checkList checks SPEC's list format {"items": [...], "next_cursor": "..."}
// and the shape of every item; it returns the items.
func checkList(t *testing.T, what string, body []byte, item shape) []map[string]any {
	t.Helper()
	m := decodeObject(t, body)
	checkShape(t, what, m, shape{"items": "arr", "next_cursor": "str"})
	raw, _ := m["items"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		o, ok := it.(map[string]any)
		if !ok {
			t.Fatalf("%s: item %#v is not an object", what, it)
		}
		checkShape(t, what+" item", o, item)
		out = append(out, o)
	}
	return out
}

// checkError checks SPEC's error body: {"code", "message", "request_id"}
// with a stable snake_case code, and the status.
func checkError(t *testing.T, r resp, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	m := decodeObject(t, r.Body)
	checkShape(t, "error", m, shape{"code": "str", "message": "str", "request_id": "str"})
	c, _ := m["code"].(string)
	if !snakeRe.MatchString(c) {
		t.Errorf("error code %q is not snake_case", c)
	}
	if code != "" && c != code {
		t.Errorf("error code %q, want %q", c, code)
	}
	if msg, _ := m["message"].(string); !hanRe.MatchString(msg) {
		t.Errorf("error message %q is not zh-CN", msg)
	}
	if rid, _ := m["request_id"].(string); rid == "" {
		t.Error("error request_id empty")
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("error Content-Type %q", r.Header.Get("Content-Type"))
	}
	return m
}

var (
	snakeRe = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	hanRe   = regexp.MustCompile(`\p{Han}`)
)

// jnum reads a whole-number field of a decodeObject map.
func jnum(m map[string]any, k string) int64 {
	switch n := m[k].(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	}
	return 0
}

// Shapes of SPEC's core objects.
var (
	studentShape = shape{"id": "int", "school_id": "int", "student_no": "str", "name": "str",
		"gender": "str", "grade": "int", "class": "str"}
	tokenShape    = shape{"access_token": "str", "refresh_token": "str", "token_type": "str", "expires_in": "int"}
	offeringShape = shape{"id": "int", "school_id": "int", "term_id": "int", "kind": "str", "name": "str",
		"category": "str", "description": "str", "teacher": "str", "venue": "str", "weekdays": "arr",
		"start_time": "clock", "end_time": "clock", "capacity": "int", "grades": "arr", "fee_fen": "int",
		"mode": "str", "waitlist": "bool", "enroll_opens_at": "time", "enroll_closes_at": "time",
		"status": "str", "enrolled": "int", "waitlisted": "int", "remaining": "int", "created_at": "time"}
	enrollmentShape = shape{"id": "int", "student_id": "int", "offering_id": "int", "status": "str",
		"waitlist_position": "int?", "applied_by": "int", "created_at": "time"}
	termShape = shape{"id": "int", "school_id": "int", "name": "str", "starts_on": "date", "ends_on": "date",
		"max_clubs": "int", "created_at": "time"}
	// Rates are null when their denominator is zero (SPEC "Statistics"),
	// each beside the counts it is computed from.
	statsShape = shape{"as_of": "date", "schools": "int", "schools_offering": "int", "coverage_rate": "num?",
		"schools_5plus2": "int", "students": "int", "participants": "int", "participation_rate": "num?",
		"basic_participants": "int", "club_participants": "int", "clubs": "int", "seats": "int",
		"seats_filled": "int", "fill_rate": "num?", "waitlisted": "int", "responses": "int",
		"supporters": "int", "satisfied": "int", "parent_support_rate": "num?", "satisfaction_rate": "num?",
		"attended": "int", "attendance_marked": "int", "attendance_rate": "num?",
		"five_day": "int", "five_day_rate": "num?", "teachers": "int", "teachers_marking": "int",
		"teacher_participation_rate": "num?", "sessions_held": "int", "sessions_cancelled": "int"}
)
