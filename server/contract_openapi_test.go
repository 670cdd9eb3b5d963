package main

import (
	"strings"
	"testing"
)

// specRoutes are the routes of SPEC.md's table, exactly.
var specRoutes = []string{
	"POST /api/v1/auth/login", "POST /api/v1/auth/wechat", "POST /api/v1/auth/refresh",
	"GET /api/v1/me", "POST /api/v1/me/phone", "POST /api/v1/me/children",
	"POST /api/v1/regions", "POST /api/v1/schools", "GET /api/v1/schools/{id}", "POST /api/v1/users",
	"POST /api/v1/schools/{id}/roster", "GET /api/v1/schools/{id}/students", "POST /api/v1/schools/{id}/terms",
	"POST /api/v1/schools/{id}/offerings", "GET /api/v1/schools/{id}/offerings",
	"GET /api/v1/offerings/{id}", "PATCH /api/v1/offerings/{id}", "POST /api/v1/offerings/{id}/publish",
	"GET /api/v1/offerings/{id}/roster", "POST /api/v1/enrollments", "DELETE /api/v1/enrollments/{id}",
	"GET /api/v1/students/{id}/enrollments", "POST /api/v1/schools/{id}/terms/{term_id}/lottery",
	"POST /api/v1/surveys", "POST /api/v1/surveys/{id}/responses",
	"GET /api/v1/stats/overview", "GET /api/v1/stats/schools", "GET /api/v1/stats/trend",
	"POST /api/v1/jobs/{name}/run",
	// Attendance, leave and dismissal.
	"GET /api/v1/offerings/{id}/sessions", "GET /api/v1/me/sessions", "POST /api/v1/sessions/{id}/cancel",
	"GET /api/v1/sessions/{id}/roll", "PUT /api/v1/sessions/{id}/attendance", "POST /api/v1/sessions/{id}/dismissal",
	"POST /api/v1/students/{id}/leave-requests", "GET /api/v1/students/{id}/leave-requests",
	"DELETE /api/v1/leave-requests/{id}", "GET /api/v1/students/{id}/attendance",
	"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml",
}

// TestContractRoutesServedAndDocumented: every route of SPEC's table is
// registered and in openapi.yaml under SPEC's path.
func TestContractRoutesServedAndDocumented(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	s := newTestServer(t)
	served := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		served[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for _, rt := range specRoutes {
		method, path, _ := strings.Cut(rt, " ")
		if !served[rt] {
			t.Errorf("SPEC route %s is not served", rt)
		}
		item, _ := paths[path].(map[string]any)
		if _, ok := item[strings.ToLower(method)]; !ok {
			t.Errorf("SPEC route %s is not in openapi.yaml", rt)
		}
	}
}

// schemaProps returns the properties of a components schema, following
// $ref and allOf.
func schemaProps(t *testing.T, doc map[string]any, name string) map[string]map[string]any {
	t.Helper()
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	out := map[string]map[string]any{}
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		if ref, ok := s["$ref"].(string); ok {
			next, _ := schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
			if next == nil {
				t.Fatalf("%s: $ref %s missing", name, ref)
			}
			walk(next)
		}
		for _, part := range asList(s["allOf"]) {
			walk(part.(map[string]any))
		}
		props, _ := s["properties"].(map[string]any)
		for k, v := range props {
			m, _ := v.(map[string]any)
			out[k] = m
		}
	}
	s, _ := schemas[name].(map[string]any)
	if s == nil {
		t.Fatalf("openapi.yaml has no schema %s", name)
	}
	walk(s)
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestContractOpenAPISchemas: openapi.yaml's schemas carry SPEC's field
// names, with the formats SPEC fixes (RFC 3339 times, YYYY-MM-DD dates).
func TestContractOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	fields := func(names string) []string { return strings.Fields(names) }
	for schema, names := range map[string][]string{
		"Error":             fields("code message request_id fields errors"),
		"LoginRequest":      fields("username password"),
		"RefreshRequest":    fields("refresh_token"),
		"TokenPair":         fields("access_token refresh_token token_type expires_in user"),
		"WeChatCode":        fields("code"),
		"PhoneBinding":      fields("phone_masked children"),
		"ChildBinding":      fields("school_id student_no name binding_code"),
		"Student":           fields("id school_id student_no name gender grade class"),
		"NewRegion":         fields("name code parent_id"),
		"NewSchool":         fields("name region_id code"),
		"NewUser":           fields("username password role school_id region_id"),
		"RosterResult":      fields("created updated"),
		"NewTerm":           fields("name starts_on ends_on max_clubs"),
		"Term":              fields("id name starts_on ends_on max_clubs"),
		"NewOffering":       fields("term_id kind name category description teacher venue weekdays start_time end_time capacity grades fee_fen mode waitlist enroll_opens_at enroll_closes_at"),
		"Offering":          fields("term_id kind name category description teacher venue weekdays start_time end_time capacity grades fee_fen mode waitlist enroll_opens_at enroll_closes_at id school_id status enrolled waitlisted remaining created_at"),
		"NewEnrollment":     fields("student_id offering_id rank"),
		"Enrollment":        fields("id student_id offering_id status waitlist_position applied_by created_at"),
		"LotteryDraw":       fields("seed assigned rejected"),
		"NewSurvey":         fields("region_id school_id title opens_at closes_at"),
		"NewSurveyResponse": fields("student_id support satisfaction comment"),
		"Stats":             fields("as_of schools schools_offering coverage_rate schools_5plus2 students participants participation_rate basic_participants club_participants clubs seats seats_filled fill_rate waitlisted responses parent_support_rate satisfaction_rate attendance_rate"),
		"SchoolStats":       fields("school_id as_of students participants participation_rate"),
		"JobRun":            fields("id name status started_at ended_at error"),
	} {
		props := schemaProps(t, doc, schema)
		for _, n := range names {
			p, ok := props[n]
			if !ok {
				t.Errorf("openapi schema %s lacks %s", schema, n)
				continue
			}
			format, _ := p["format"].(string)
			switch {
			case strings.HasSuffix(n, "_at") && format != "date-time":
				t.Errorf("openapi %s.%s: format %q, want date-time", schema, n, format)
			case (strings.HasSuffix(n, "_on") || n == "as_of") && format != "date":
				t.Errorf("openapi %s.%s: format %q, want date", schema, n, format)
			}
		}
	}
	for schema, field := range map[string]string{"Enrollment": "waitlist_position", "JobRun": "error"} {
		if p := schemaProps(t, doc, schema)[field]; p["nullable"] != true {
			t.Errorf("openapi %s.%s should be nullable (null when absent)", schema, field)
		}
	}
}
