package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"kehou/models"
	"kehou/models/modelstest"
)

// xlsxText flattens every cell of an .xlsx answer (its bytes are zipped, so
// a search of the raw body would find nothing).
func xlsxText(t *testing.T, b []byte) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		for _, r := range rows {
			out.WriteString(strings.Join(r, "|") + "\n")
		}
	}
	return out.Bytes()
}

// TestNoPIIAcrossJourney runs a broad journey — staff logins, roster imports
// (CSV and XLSX) with guardian phones, a rejected roster, a parent's WeChat
// login and phone binding, enrollment, waitlist promotion, roster exports in
// every format, the stats job and dashboards, token refresh — and asserts
// that no full phone number of the fixtures appears in any answer or log
// line, no access or refresh token in a log line, no phone in a queued
// notification, and that staff reads of children's data are logged.
func TestNoPIIAcrossJourney(t *testing.T) {
	s := newTestServer(t)
	f, _ := withFakeWeChat(t, s)
	phones := []string{"13811112222", "13933334444", "13755556666", "13677778888", "15800009999"}
	var bodies [][]byte
	var tokens []string
	keep := func(r resp) resp { bodies = append(bodies, r.Body); return r }
	login := func(username string) string {
		t.Helper()
		m := keep(s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": username,
			"password": modelstest.Password}).want(t, 200)).JSON()
		tokens = append(tokens, m["access_token"].(string), m["refresh_token"].(string))
		return m["access_token"].(string)
	}

	region := modelstest.Region(t, s.db, nil)
	school := modelstest.School(t, s.db, region.ID)
	platform := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
	teacher := modelstest.Staff(t, s.db, models.RoleTeacher, school.ID, 0)
	bureau := modelstest.Staff(t, s.db, models.RoleBureauAdmin, 0, region.ID)
	pt, at, tt, bt := login(*platform.Username), login(*admin.Username), login(*teacher.Username), login(*bureau.Username)
	rosterURL := fmt.Sprintf("/api/v1/schools/%d/roster", school.ID)

	// Rosters: CSV with phones (one in +86 form), XLSX with a numeric phone
	// cell, and a rejected file whose valid rows carry phones.
	keep(s.do("POST", rosterURL, at, rosterHeader+"\n"+
		"P1,张一,男,3,1班,张父,"+phones[0]+",父亲\n"+
		"P1,张一,男,3,1班,张母,+86 "+phones[1]+",母亲\n"+
		"P2,李二,女,3,1班,李母,"+phones[2]+",母亲\n", "Content-Type", "text/csv").want(t, 200))
	var num3 int64
	fmt.Sscan(phones[3], &num3)
	var hdr []any
	for _, h := range strings.Split(rosterHeader, ",") {
		hdr = append(hdr, h)
	}
	x := xlsxFile(t, [][]any{hdr, {"P3", "王三", "男", 3, "2班", "王父", num3, "父亲"}})
	mp, ct := multipartFile(t, "file", "roster.xlsx", x)
	keep(s.do("POST", rosterURL, at, mp, "Content-Type", ct).want(t, 200))
	keep(s.do("POST", rosterURL, at, rosterHeader+"\nP4,赵四,男,3,1班,赵父,"+phones[4]+",父亲\nP5,钱五,男,十,1班,钱父,"+
		phones[4]+"0,父亲\n", "Content-Type", "text/csv").want(t, 422))

	// A parent logs in with WeChat and proves phones[0].
	wx := keep(s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("oPII", "uPII")}).want(t, 200)).JSON()
	parentTok := wx["access_token"].(string)
	tokens = append(tokens, parentTok, wx["refresh_token"].(string))
	ph := keep(s.do("POST", "/api/v1/me/phone", parentTok, map[string]string{"code": f.PhoneCode(phones[0])}).want(t, 200)).JSON()
	kids := ph["children"].([]any)
	if len(kids) != 1 {
		t.Fatalf("phone binding linked %v", ph)
	}
	childID := int64(kids[0].(map[string]any)["id"].(float64))
	keep(s.do("GET", "/api/v1/me", parentTok, nil).want(t, 200))
	// A second family (phones[2]), so the waitlist promotion has someone to notify.
	wx2 := keep(s.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("oPII2", "")}).want(t, 200)).JSON()
	tokens = append(tokens, wx2["access_token"].(string), wx2["refresh_token"].(string))
	keep(s.do("POST", "/api/v1/me/phone", wx2["access_token"].(string), map[string]string{"code": f.PhoneCode(phones[2])}).want(t, 200))

	// Term, a one-seat offering, enrollment, waitlist, withdrawal → promotion.
	term := keep(s.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", school.ID), at, map[string]any{
		"name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20", "max_clubs": 2}).want(t, 201)).JSON()
	off := keep(s.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", school.ID), at, map[string]any{
		"term_id": term["id"], "kind": "club", "name": "篮球社", "category": "sports", "weekdays": []int{2, 4},
		"start_time": "16:30", "end_time": "18:00", "capacity": 1, "grades": []int{3}, "mode": "fcfs", "waitlist": true,
		"enroll_opens_at": rfc(time.Now().Add(-time.Hour)), "enroll_closes_at": rfc(time.Now().Add(time.Hour))}).want(t, 201)).JSON()
	oid := int64(off["id"].(float64))
	keep(s.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", oid), at, nil).want(t, 200))
	first := keep(s.do("POST", "/api/v1/enrollments", parentTok, map[string]any{"student_id": childID, "offering_id": oid}).want(t, 201)).JSON()
	students := keep(s.do("GET", fmt.Sprintf("/api/v1/schools/%d/students", school.ID), tt, nil).want(t, 200)).JSON()
	for _, it := range students["items"].([]any) {
		if id := int64(it.(map[string]any)["id"].(float64)); id != childID {
			keep(s.do("POST", "/api/v1/enrollments", at, map[string]any{"student_id": id, "offering_id": oid}).want(t, 201))
		}
	}
	keep(s.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", int64(first["id"].(float64))), parentTok, nil).want(t, 200))
	keep(s.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", childID), parentTok, nil).want(t, 200))

	// Exports in every format, dashboards, the stats job, token refresh.
	for _, format := range []string{"json", "csv"} {
		keep(s.do("GET", fmt.Sprintf("/api/v1/offerings/%d/roster?format=%s", oid, format), at, nil).want(t, 200))
	}
	bodies = append(bodies, xlsxText(t, s.do("GET", fmt.Sprintf("/api/v1/offerings/%d/roster?format=xlsx", oid), at, nil).want(t, 200).Body))
	keep(s.do("POST", "/api/v1/jobs/stats/run", pt, nil).want(t, 200))
	keep(s.do("GET", "/api/v1/jobs/runs", pt, nil).want(t, 200))
	keep(s.do("GET", "/api/v1/stats/overview", at, nil).want(t, 200))
	keep(s.do("GET", "/api/v1/stats/schools", bt, nil).want(t, 200))
	keep(s.do("GET", "/api/v1/stats/schools?format=csv", bt, nil).want(t, 200))
	ref := keep(s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tokens[1]}).want(t, 200)).JSON()
	tokens = append(tokens, ref["access_token"].(string), ref["refresh_token"].(string))
	// Once its successor is spent, the old token is a reuse (401).
	keep(s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": ref["refresh_token"].(string)}).want(t, 200))
	keep(s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tokens[1]}).want(t, 401))

	t.Run("noPhoneInAnyAnswer", func(t *testing.T) {
		for _, p := range phones {
			for i, b := range bodies {
				if bytes.Contains(b, []byte(p)) {
					t.Errorf("answer %d holds phone %s: %s", i, p, b)
				}
			}
		}
	})
	t.Run("noPhoneOrTokenInLogs", func(t *testing.T) {
		logs := s.logs.String()
		if !strings.Contains(logs, `"route":"/api/v1/offerings/:id/roster"`) {
			t.Fatal("requests were not logged")
		}
		for _, sec := range append(append([]string{}, phones...), tokens...) {
			if strings.Contains(logs, sec) {
				t.Errorf("log holds %q", sec)
			}
		}
	})
	t.Run("noPhoneInOutbox", func(t *testing.T) {
		var payloads []string
		if err := s.db.R.Raw("SELECT payload FROM outbox").Scan(&payloads).Error; err != nil {
			t.Fatal(err)
		}
		if len(payloads) < 2 { // the confirmation and the promotion
			t.Fatalf("outbox holds %d notifications", len(payloads))
		}
		for _, pl := range payloads {
			for _, p := range phones {
				if strings.Contains(pl, p) {
					t.Errorf("outbox payload holds phone %s: %s", p, pl)
				}
			}
		}
	})
	t.Run("staffReadsLogged", func(t *testing.T) {
		for _, c := range []struct {
			action string
			user   models.User
		}{{"list_students", teacher}, {"offering_roster", admin}, {"import_roster", admin}} {
			var n int64
			s.db.R.Raw("SELECT COUNT(*) FROM staff_access_log WHERE action = ? AND user_id = ? AND school_id = ?",
				c.action, c.user.ID, school.ID).Scan(&n)
			if n == 0 {
				t.Errorf("%s by user %d not in staff_access_log", c.action, c.user.ID)
			}
		}
	})
}
