package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// goNameRe finds Go type names in a message: package-qualified names
// (handlers.enrollRequest, models.Role) and Go's basic and composite types.
var goNameRe = regexp.MustCompile(`\b(handlers|models|main|json|time|fiber|gorm|reflect|strconv)\.\w+|\b(u?int(8|16|32|64)?|float(32|64)|bool|complex(64|128)|struct\s*\{|map\[|\[\]\w+)\b`)

// checkErrorText fails the test when an error answer's message, field
// messages or row messages name a Go type: clients read them, in Chinese,
// and "应为 int64" tells a parent nothing. The harness calls it on every
// answer of every server test.
func checkErrorText(t testing.TB, method, path string, status int, body []byte) {
	t.Helper()
	if status < 400 {
		return
	}
	var e struct {
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Errors  []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return
	}
	texts := []string{e.Message}
	for _, m := range e.Fields {
		texts = append(texts, m)
	}
	for _, r := range e.Errors {
		texts = append(texts, r.Message)
	}
	for _, s := range texts {
		if m := goNameRe.FindString(s); m != "" {
			t.Errorf("%s %s: message names a Go type (%s): %s", method, path, m, body)
			return
		}
	}
}

// TestBodyTypeErrorsNameTheField sends bodies of the wrong types: each is a
// 422 whose message names the JSON field and the expected form in Chinese.
func TestBodyTypeErrorsNameTheField(t *testing.T) {
	w := newEnrollWorld(t)
	terms := fmt.Sprintf("/api/v1/schools/%d/terms", w.schoolID)
	offerings := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
	cases := []struct {
		name, path, body, field, message string
	}{
		{"intAsString", "/api/v1/enrollments", `{"student_id": "41", "offering_id": 7}`, "student_id", "student_id 应为整数"},
		{"intAsFraction", "/api/v1/enrollments", `{"student_id": 4.5, "offering_id": 7}`, "student_id", "student_id 应为整数"},
		{"bodyArray", "/api/v1/enrollments", `[1, 2]`, "body", "请求体应为 JSON 对象"},
		{"stringAsNumber", terms, `{"name": 2026, "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}`, "name", "name 应为字符串"},
		{"arrayAsString", offerings, `{"weekdays": "1,2"}`, "weekdays", "weekdays 应为整数数组"},
		{"arrayElement", offerings, `{"grades": [3, "四"]}`, "grades", "grades 应为整数"},
		{"boolAsString", offerings, `{"waitlist": "yes"}`, "waitlist", "waitlist 应为布尔值（true 或 false）"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.do("POST", c.path, w.adminTok, c.body)
			m := checkError(t, r, 422, "invalid_field")
			fields, _ := m["fields"].(map[string]any)
			if got, _ := fields[c.field].(string); got != c.message {
				t.Fatalf("fields[%q] = %q, want %q (%s)", c.field, got, c.message, r.Body)
			}
			if msg, _ := m["message"].(string); c.field != "body" && !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %s", msg, c.field)
			}
		})
	}
}
