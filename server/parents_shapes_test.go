package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
)

// checkSummary fails unless m["offering"] is the club's summary.
func checkSummary(t *testing.T, what string, m map[string]any, id int64, name string) {
	t.Helper()
	o, ok := m["offering"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no offering summary in %v", what, m)
	}
	if jnum(o, "id") != id || o["name"] != name || o["kind"] != "club" || o["category"] != "sports" || o["teacher"] != "王老师" ||
		o["venue"] != "操场" || fmt.Sprint(o["weekdays"]) != "[2 4]" || o["start_time"] != "16:30" || o["end_time"] != "18:00" ||
		o["term_name"] != "2026秋季学期" || o["term_id"] == nil || o["status"] == nil {
		t.Fatalf("%s: summary %v", what, o)
	}
}

// TestParentScreensShapes: the children come with the login and /me, each
// with its live enrollments; every enrollment and session names its club
// by one summary; a withdrawal says why; a cancelled club stays readable
// to its former families.
func TestParentScreensShapes(t *testing.T) {
	w := newEnrollWorld(t)
	f := withTemplates(t, w.testServer, nil)
	oid := w.publishedOffering(t, nil)

	t.Run("enrollAnswerNamesTheClub", func(t *testing.T) {
		e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": oid}).want(t, 201).JSON()
		checkSummary(t, "POST /enrollments", e, oid, "篮球社")
		if e["applied_by_role"] != "parent" || e["rank"] != nil {
			t.Fatalf("answer %v: want applied_by_role parent and no rank outside a lottery", e)
		}
	})
	t.Run("meChildrenWithEnrollments", func(t *testing.T) {
		me := w.do("GET", "/api/v1/me", w.parentTok, nil).want(t, 200).JSON()
		kids := me["children"].([]any)
		if len(kids) != 1 {
			t.Fatalf("children %v", kids)
		}
		ens := kids[0].(map[string]any)["enrollments"].([]any)
		if len(ens) != 1 {
			t.Fatalf("enrollments %v", ens)
		}
		checkSummary(t, "GET /me", ens[0].(map[string]any), oid, "篮球社")
	})
	t.Run("loginAnswersChildren", func(t *testing.T) {
		r := w.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode(*w.parent.OpenID, "")}).want(t, 200).JSON()
		kids, _ := r["children"].([]any)
		if len(kids) != 1 || len(kids[0].(map[string]any)["enrollments"].([]any)) != 1 {
			t.Fatalf("login answer children %v", r["children"])
		}
	})
	t.Run("newParentLoginEmptyChildren", func(t *testing.T) {
		r := w.do("POST", "/api/v1/auth/wechat", "", map[string]string{"code": f.LoginCode("oBrandNew", "")}).want(t, 200)
		if kids, ok := r.JSON()["children"].([]any); !ok || len(kids) != 0 {
			t.Fatalf("answer %s", r.Body)
		}
	})
	t.Run("studentEnrollmentsAndSessionsNameTheClub", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok, nil).want(t, 200).JSON()
		checkSummary(t, "student enrollments", r["items"].([]any)[0].(map[string]any), oid, "篮球社")
		s := w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions?limit=1", oid), w.parentTok, nil).want(t, 200).JSON()
		if items := s["items"].([]any); len(items) > 0 {
			checkSummary(t, "sessions", items[0].(map[string]any), oid, "篮球社")
		}
	})

	// A second child, enrolled by the school and withdrawn by it; the
	// club is then cancelled under the first.
	other := modelstest.Student(t, w.db, w.schoolID, 4, "")
	if err := w.db.Tx(context.Background(), func(tx *gorm.DB) error { return models.LinkParent(tx, w.parent.ID, other.ID, "phone") }); err != nil {
		t.Fatal(err)
	}
	e2 := w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": other.ID, "offering_id": oid}).want(t, 201).JSON()
	t.Run("withdrawReasonSchool", func(t *testing.T) {
		r := w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(e2, "id")), w.adminTok, nil).want(t, 200).JSON()
		if r["withdraw_reason"] != models.WithdrawnBySchool || r["withdrawn_by_role"] != "school_admin" || r["applied_by_role"] != "school_admin" {
			t.Fatalf("answer %v", r)
		}
	})
	w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/cancel", oid), w.adminTok, map[string]any{"reason": "教练调离"}).want(t, 200)
	t.Run("withdrawReasonOfferingCancelled", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", w.student.ID), w.parentTok, nil).want(t, 200).JSON()
		e := r["items"].([]any)[0].(map[string]any)
		if e["status"] != "withdrawn" || e["withdraw_reason"] != models.WithdrawnOfferingCancelled {
			t.Fatalf("enrollment %v", e)
		}
		if o := e["offering"].(map[string]any); o["status"] != "cancelled" {
			t.Fatalf("summary %v", o)
		}
	})
	t.Run("cancelledClubReadableToFormerFamily", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), w.parentTok, nil).want(t, 200)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d/sessions", oid), w.parentTok, nil).want(t, 200)
	})
	t.Run("cancelledClub404ToOthers", func(t *testing.T) {
		stranger := modelstest.Parent(t, w.db, modelstest.Student(t, w.db, w.schoolID, 3, "").ID)
		w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", oid), w.token(stranger), nil).want(t, 404)
	})
	t.Run("withdrawReasonParent", func(t *testing.T) {
		o2 := w.publishedOffering(t, func(m map[string]any) { m["name"] = "美术社"; m["weekdays"] = []int{1} })
		e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": o2}).want(t, 201).JSON()
		r := w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(e, "id")), w.parentTok, nil).want(t, 200).JSON()
		if r["withdraw_reason"] != models.WithdrawnByParent {
			t.Fatalf("answer %v", r)
		}
	})
}

// TestOfferingsStudentState: ?student_id= gives each club what enrolling
// that child would do, by the enrollment's own rules, and its next session.
func TestOfferingsStudentState(t *testing.T) {
	w := newEnrollWorld(t)            // the child is in grade 3; the term allows 2 clubs
	in := w.publishedOffering(t, nil) // Tue/Thu 16:30–18:00
	w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": in}).want(t, 201)
	clash := w.publishedOffering(t, func(m map[string]any) { m["name"] = "足球社"; m["weekdays"] = []int{4} })
	grade := w.publishedOffering(t, func(m map[string]any) { m["name"] = "高年级"; m["weekdays"] = []int{1}; m["grades"] = []int{5, 6} })
	closed := w.publishedOffering(t, func(m map[string]any) {
		m["name"], m["weekdays"] = "已截止", []int{1}
		m["enroll_closes_at"] = time.Now().Add(-time.Minute).Format(time.RFC3339)
		m["enroll_opens_at"] = time.Now().Add(-time.Hour).Format(time.RFC3339)
	})
	full := w.publishedOffering(t, func(m map[string]any) {
		m["name"], m["weekdays"], m["capacity"], m["waitlist"] = "满员", []int{5}, 1, false
	})
	wl := w.publishedOffering(t, func(m map[string]any) { m["name"], m["weekdays"], m["capacity"] = "候补", []int{3}, 1 })
	filler := modelstest.Student(t, w.db, w.schoolID, 3, "")
	for _, o := range []int64{full, wl} {
		w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": filler.ID, "offering_id": o}).want(t, 201)
	}
	open := w.publishedOffering(t, func(m map[string]any) { m["name"], m["weekdays"] = "开放", []int{1} })

	states := func(t *testing.T, tok string) map[int64]map[string]any {
		t.Helper()
		r := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings?student_id=%d", w.schoolID, w.student.ID), tok, nil).want(t, 200).JSON()
		out := map[int64]map[string]any{}
		for _, it := range r["items"].([]any) {
			m := it.(map[string]any)
			out[jnum(m, "id")] = m
		}
		return out
	}
	t.Run("eachState", func(t *testing.T) {
		got := states(t, w.parentTok)
		for id, want := range map[int64]string{in: "enrolled", clash: "time_conflict", grade: "grade", closed: "closed",
			full: "full", wl: "waitlist_open", open: "open"} {
			if got[id]["student_state"] != want {
				t.Errorf("%v: state %v, want %s", got[id]["name"], got[id]["student_state"], want)
			}
		}
	})
	t.Run("limitReached", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": open}).want(t, 201)
		if s := states(t, w.parentTok)[wl]["student_state"]; s != "limit_reached" {
			t.Fatalf("state %v after two clubs", s)
		}
	})
	t.Run("nextSessionDate", func(t *testing.T) {
		// The first Tuesday or Thursday whose session (16:30–18:00) has
		// not ended, as of before and of after the request (the real clock
		// may pass 18:00 in between).
		next := func() string {
			now := time.Now()
			for d := now.In(models.Zone); d.Format(time.DateOnly) <= "2027-01-20"; d = d.AddDate(0, 0, 1) {
				ends := time.Date(d.Year(), d.Month(), d.Day(), 18, 0, 0, 0, models.Zone)
				if (d.Weekday() == time.Tuesday || d.Weekday() == time.Thursday) && ends.After(now) {
					return d.Format(time.DateOnly)
				}
			}
			return ""
		}
		before := next()
		got, _ := states(t, w.parentTok)[in]["next_session_date"].(string)
		if after := next(); got != before && got != after {
			t.Fatalf("next_session_date %q, want %q", got, before)
		}
	})
	t.Run("staffMaySee", func(t *testing.T) {
		if s := states(t, w.adminTok)[in]["student_state"]; s != "enrolled" {
			t.Fatalf("state %v", s)
		}
	})
	t.Run("notTheirChild404", func(t *testing.T) {
		w.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings?student_id=%d", w.schoolID, filler.ID), w.parentTok, nil).want(t, 404)
	})
	t.Run("withoutStudentNoState", func(t *testing.T) {
		r := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.parentTok, nil).want(t, 200)
		if strings.Contains(string(r.Body), "student_state") {
			t.Fatal("state without a student")
		}
	})
}

// TestEnrollRefusalsCarryIDs: the 409s name what a screen acts on, a 422's
// message is its first field's, and a wrong URL is not a missing object.
func TestEnrollRefusalsCarryIDs(t *testing.T) {
	w := newEnrollWorld(t)
	in := w.publishedOffering(t, nil)
	e := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": in}).want(t, 201).JSON()
	t.Run("alreadyEnrolledNamesTheEnrollment", func(t *testing.T) {
		r := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": in}).want(t, 409, "already_enrolled").JSON()
		if jnum(r, "enrollment_id") != jnum(e, "id") || r["enrollment_status"] != "enrolled" {
			t.Fatalf("answer %v", r)
		}
	})
	t.Run("scheduleConflictNamesTheClub", func(t *testing.T) {
		clash := w.publishedOffering(t, func(m map[string]any) { m["name"] = "足球社"; m["weekdays"] = []int{4} })
		r := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID, "offering_id": clash}).want(t, 409, "schedule_conflict").JSON()
		if jnum(r, "offering_id") != in || !strings.Contains(r["message"].(string), "篮球社") {
			t.Fatalf("answer %v", r)
		}
	})
	t.Run("invalidFieldMessageIsTheFirstField", func(t *testing.T) {
		r := w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{}).want(t, 422, "invalid_field").JSON()
		if r["message"] != "学生必填" {
			t.Fatalf("answer %v", r)
		}
	})
	t.Run("noRouteIsNotNotFound", func(t *testing.T) {
		w.do("GET", "/api/v1/enrolments", w.parentTok, nil).want(t, 404, "no_route")
		w.do("GET", "/api/v1/offerings/999999", w.parentTok, nil).want(t, 404, "not_found")
	})
}

// TestTransferETagAndGzip: a list a phone re-reads answers 304 to its
// ETag, and a JSON answer of a few KB is gzipped.
func TestTransferETagAndGzip(t *testing.T) {
	w := newEnrollWorld(t)
	for i := range 12 {
		w.publishedOffering(t, func(m map[string]any) { m["name"] = fmt.Sprintf("社团%02d", i); m["weekdays"] = []int{1 + i%5} })
	}
	path := fmt.Sprintf("/api/v1/schools/%d/offerings?student_id=%d", w.schoolID, w.student.ID)
	first := w.do("GET", path, w.parentTok, nil).want(t, 200)
	tag := first.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	t.Run("304OnSameETag", func(t *testing.T) {
		r := w.do("GET", path, w.parentTok, nil, "If-None-Match", tag).want(t, 304)
		if len(r.Body) != 0 {
			t.Fatalf("304 with a body of %d bytes", len(r.Body))
		}
	})
	t.Run("200AfterAChange", func(t *testing.T) {
		w.do("POST", "/api/v1/enrollments", w.parentTok, map[string]any{"student_id": w.student.ID,
			"offering_id": jnum(first.JSON()["items"].([]any)[0].(map[string]any), "id")}).want(t, 201)
		r := w.do("GET", path, w.parentTok, nil, "If-None-Match", tag).want(t, 200)
		if r.Header.Get("ETag") == tag {
			t.Fatal("same ETag after an enrollment")
		}
	})
	t.Run("gzipOverAFewKB", func(t *testing.T) {
		if len(first.Body) < handlers.GzipMinBytes {
			t.Fatalf("the list is %d bytes: the test needs a bigger one", len(first.Body))
		}
		r := w.do("GET", path, w.parentTok, nil, "Accept-Encoding", "gzip")
		if r.Header.Get("Content-Encoding") != "gzip" || len(r.Body) >= len(first.Body) {
			t.Fatalf("encoding %q, %d bytes of %d", r.Header.Get("Content-Encoding"), len(r.Body), len(first.Body))
		}
	})
	t.Run("smallAnswerPlain", func(t *testing.T) {
		r := w.do("GET", "/api/v1/me", w.parentTok, nil, "Accept-Encoding", "gzip").want(t, 200)
		if r.Header.Get("Content-Encoding") != "" {
			t.Fatal("a small answer was gzipped")
		}
	})
}

// TestNextSessionDateAfterItEnds: a club's session of today is its next
// until it has ended (a parent at 18:10 looks for the next day).
func TestNextSessionDateAfterItEnds(t *testing.T) {
	w := newAttWorld(t) // w.club meets Tuesdays and Thursdays, 16:30–18:00
	next := func(at time.Time) string {
		t.Helper()
		w.setNow(at)
		r := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings?student_id=%d", w.schoolID, w.kids[0].ID), w.parentTok, nil).want(t, 200).JSON()
		for _, it := range r["items"].([]any) {
			if m := it.(map[string]any); jnum(m, "id") == w.club {
				d, _ := m["next_session_date"].(string)
				return d
			}
		}
		t.Fatal("the club is not listed")
		return ""
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{sh(2030, 11, 5, 9, 0), "2030-11-05"},
		{sh(2030, 11, 5, 17, 59), "2030-11-05"}, // under way
		{sh(2030, 11, 5, 18, 0), "2030-11-07"},  // ended
		{sh(2030, 11, 6, 12, 0), "2030-11-07"},
	} {
		if got := next(c.at); got != c.want {
			t.Errorf("at %s: next_session_date %q, want %q", c.at.Format("01-02 15:04"), got, c.want)
		}
	}
}
