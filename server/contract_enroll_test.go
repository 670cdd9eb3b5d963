package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"kehou/models/modelstest"
)

// specOffering is SPEC's POST /schools/{id}/offerings example, byte for
// byte but the term id.
const specOffering = `{"term_id": %d, "kind": "club", "name": "篮球社", "category": "sports",
 "description": "…", "teacher": "王老师", "venue": "操场",
 "weekdays": [2, 4], "start_time": "16:30", "end_time": "18:00",
 "capacity": 30, "grades": [3, 4, 5, 6], "fee_fen": 0,
 "mode": "fcfs", "waitlist": true,
 "enroll_opens_at": "2026-09-01T08:00:00+08:00",
 "enroll_closes_at": "2026-09-05T20:00:00+08:00"}`

// TestContractTerm: SPEC's term example → 201 with its fields echoed.
func TestContractTerm(t *testing.T) {
	w := newEnrollWorld(t)
	r := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms", w.otherSchoolID), w.otherAdminTok,
		`{"name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20",
 "max_clubs": 2}`).want(t, 201)
	term := decodeObject(t, r.Body)
	checkShape(t, "term", term, termShape)
	if term["name"] != "2026秋季学期" || term["starts_on"] != "2026-09-01" || term["ends_on"] != "2027-01-20" ||
		jnum(term, "max_clubs") != 2 || jnum(term, "school_id") != w.otherSchoolID {
		t.Fatalf("term = %s", r.Body)
	}
	list := w.do("GET", fmt.Sprintf("/api/v1/schools/%d/terms", w.otherSchoolID), w.otherAdminTok, nil).want(t, 200)
	if items := checkList(t, "terms", list.Body, termShape); len(items) != 1 {
		t.Fatalf("terms = %s", list.Body)
	}
}

// TestContractOffering: SPEC's offering example is accepted as written;
// the answer echoes it and adds id, school_id, status, enrolled,
// waitlisted, remaining, created_at.
func TestContractOffering(t *testing.T) {
	w := newEnrollWorld(t)
	r := w.do("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID), w.adminTok, fmt.Sprintf(specOffering, w.termID)).want(t, 201)
	o := decodeObject(t, r.Body)
	checkShape(t, "offering", o, offeringShape)
	echo := map[string]any{"kind": "club", "name": "篮球社", "category": "sports", "description": "…", "teacher": "王老师",
		"venue": "操场", "start_time": "16:30", "end_time": "18:00", "mode": "fcfs", "waitlist": true, "status": "draft"}
	for k, v := range echo {
		if o[k] != v {
			t.Errorf("%s = %#v, want %#v", k, o[k], v)
		}
	}
	for k, v := range map[string]int64{"term_id": w.termID, "school_id": w.schoolID, "capacity": 30, "fee_fen": 0,
		"enrolled": 0, "waitlisted": 0, "remaining": 30} {
		if jnum(o, k) != v {
			t.Errorf("%s = %v, want %d", k, o[k], v)
		}
	}
	if fmt.Sprint(o["weekdays"]) != "[2 4]" || fmt.Sprint(o["grades"]) != "[3 4 5 6]" {
		t.Errorf("weekdays %v grades %v", o["weekdays"], o["grades"])
	}
	for k, want := range map[string]string{"enroll_opens_at": "2026-09-01T08:00:00+08:00", "enroll_closes_at": "2026-09-05T20:00:00+08:00"} {
		got, _ := time.Parse(time.RFC3339, o[k].(string))
		w0, _ := time.Parse(time.RFC3339, want)
		if !got.Equal(w0) {
			t.Errorf("%s = %v, want the instant %s", k, o[k], want)
		}
	}
	id := jnum(o, "id")

	t.Run("get", func(t *testing.T) {
		checkShape(t, "GET offering", decodeObject(t, w.do("GET", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok, nil).want(t, 200).Body), offeringShape)
	})
	t.Run("patch", func(t *testing.T) {
		p := decodeObject(t, w.do("PATCH", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok, `{"capacity": 25, "venue": "体育馆"}`).want(t, 200).Body)
		checkShape(t, "PATCH offering", p, offeringShape)
		if jnum(p, "capacity") != 25 || p["venue"] != "体育馆" || p["name"] != "篮球社" || jnum(p, "remaining") != 25 {
			t.Fatalf("patched = %v", p)
		}
	})
	t.Run("patchJSISOTime", func(t *testing.T) {
		// What a mini-program's Date.toISOString() sends: RFC 3339 with
		// milliseconds, in UTC.
		p := decodeObject(t, w.do("PATCH", fmt.Sprintf("/api/v1/offerings/%d", id), w.adminTok,
			`{"enroll_opens_at": "2026-09-01T00:00:00.000Z"}`).want(t, 200).Body)
		got, _ := time.Parse(time.RFC3339, p["enroll_opens_at"].(string))
		if !got.Equal(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("enroll_opens_at = %v", p["enroll_opens_at"])
		}
	})
	t.Run("publish", func(t *testing.T) {
		p := decodeObject(t, w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", id), w.adminTok, nil).want(t, 200).Body)
		if p["status"] != "published" {
			t.Fatalf("published = %v", p)
		}
		checkError(t, w.do("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", id), w.adminTok, nil), 409, "")
	})
	t.Run("listFilters", func(t *testing.T) {
		w.publishedOffering(t, func(m map[string]any) { m["kind"] = "basic"; m["name"] = "托管"; m["grades"] = []int{1, 2} })
		base := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
		for _, c := range []struct {
			query string
			names []string
		}{
			{"", []string{"篮球社", "托管"}},
			{fmt.Sprintf("?term_id=%d", w.termID), []string{"篮球社", "托管"}},
			{"?kind=club", []string{"篮球社"}},
			{"?kind=basic", []string{"托管"}},
			{"?grade=4", []string{"篮球社"}},
			{"?grade=1", []string{"托管"}},
			{fmt.Sprintf("?term_id=%d&kind=club&grade=3", w.termID), []string{"篮球社"}},
		} {
			for _, tok := range []string{w.adminTok, w.teacherTok, w.bureauTok, w.parentTok} {
				items := checkList(t, "offerings"+c.query, w.do("GET", base+c.query, tok, nil).want(t, 200).Body, offeringShape)
				var names []string
				for _, it := range items {
					names = append(names, it["name"].(string))
				}
				if fmt.Sprint(names) != fmt.Sprint(c.names) && fmt.Sprint(reverse(names)) != fmt.Sprint(c.names) {
					t.Errorf("%s: %v, want %v", c.query, names, c.names)
				}
			}
		}
	})
	// The parents' list is cached by filter: alternating filters must each
	// get their own list, round after round.
	t.Run("cachedFilterKeysOutliveRequests", func(t *testing.T) {
		base := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
		for i := 0; i < 30; i++ {
			for q, want := range map[string]string{"?kind=club": "篮球社", "?kind=basic": "托管"} {
				items := checkList(t, "offerings"+q, w.do("GET", base+q, w.parentTok, nil).want(t, 200).Body, offeringShape)
				if len(items) != 1 || items[0]["name"] != want {
					t.Fatalf("round %d: %s answered %v, want only %s", i, q, items, want)
				}
			}
		}
	})
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// TestContractEnrollment: SPEC's enrollment example and its answers.
func TestContractEnrollment(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, func(m map[string]any) { m["capacity"] = 1 })
	body := func(student, offering int64) string {
		return fmt.Sprintf(`{"student_id": %d, "offering_id": %d, "rank": 1}`, student, offering)
	}
	first := decodeObject(t, w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, oid)).want(t, 201).Body)
	checkShape(t, "enrolled", first, enrollmentShape)
	if first["status"] != "enrolled" || first["waitlist_position"] != nil || jnum(first, "applied_by") != w.parent.ID ||
		jnum(first, "student_id") != w.student.ID || jnum(first, "offering_id") != oid {
		t.Fatalf("enrollment = %v", first)
	}
	second := modelstest.Student(t, w.db, w.schoolID, 4, "")
	wl := decodeObject(t, w.do("POST", "/api/v1/enrollments", w.teacherTok, body(second.ID, oid)).want(t, 201).Body)
	checkShape(t, "waitlisted", wl, enrollmentShape)
	if wl["status"] != "waitlisted" || jnum(wl, "waitlist_position") != 1 || jnum(wl, "applied_by") != w.teacher.ID {
		t.Fatalf("waitlisted = %v", wl)
	}

	t.Run("errors", func(t *testing.T) {
		noWait := w.publishedOffering(t, func(m map[string]any) { m["capacity"] = 1; m["waitlist"] = false; m["weekdays"] = []int{1} })
		w.do("POST", "/api/v1/enrollments", w.adminTok, body(second.ID, noWait)).want(t, 201)
		third := modelstest.Student(t, w.db, w.schoolID, 4, "")
		checkError(t, w.do("POST", "/api/v1/enrollments", w.adminTok, body(third.ID, noWait)), 409, "full")
		checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, oid)), 409, "already_enrolled")
		clash := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{4}; m["start_time"] = "17:00"; m["end_time"] = "18:30" })
		checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, clash)), 409, "schedule_conflict")
		mon := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{1}; m["name"] = "美术" })
		wed := w.publishedOffering(t, func(m map[string]any) { m["weekdays"] = []int{3}; m["name"] = "合唱" })
		w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, mon)).want(t, 201)
		checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, wed)), 409, "limit_reached")
		closed := w.publishedOffering(t, func(m map[string]any) {
			m["weekdays"] = []int{5}
			m["enroll_opens_at"] = "2026-09-01T08:00:00+08:00"
			m["enroll_closes_at"] = "2026-09-05T20:00:00+08:00"
		})
		if time.Now().After(time.Date(2026, 9, 5, 12, 0, 0, 0, time.UTC)) {
			checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, body(w.student.ID, closed)), 409, "window_closed")
		}
		young := modelstest.Student(t, w.db, w.schoolID, 1, "")
		checkError(t, w.do("POST", "/api/v1/enrollments", w.adminTok, body(young.ID, oid)), 422, "grade_not_eligible")
	})
	t.Run("idempotencyKey", func(t *testing.T) {
		o2 := w.publishedOffering(t, func(m map[string]any) {
			m["kind"] = "basic"
			m["weekdays"] = []int{1, 2, 3, 4, 5}
			m["name"] = "托管"
		})
		b := body(w.student.ID, o2)
		a1 := w.do("POST", "/api/v1/enrollments", w.parentTok, b, "Idempotency-Key", "c-key-1").want(t, 201)
		a2 := w.do("POST", "/api/v1/enrollments", w.parentTok, b, "Idempotency-Key", "c-key-1").want(t, 201)
		if !bytes.Equal(a1.Body, a2.Body) {
			t.Fatalf("replay %s, first %s", a2.Body, a1.Body)
		}
		checkError(t, w.do("POST", "/api/v1/enrollments", w.parentTok, body(second.ID, o2), "Idempotency-Key", "c-key-1"), 422, "")
	})
	t.Run("withdrawPromotes", func(t *testing.T) {
		out := decodeObject(t, w.do("DELETE", fmt.Sprintf("/api/v1/enrollments/%d", jnum(first, "id")), w.parentTok, nil).want(t, 200).Body)
		checkShape(t, "withdrawn", out, enrollmentShape)
		if out["status"] != "withdrawn" {
			t.Fatalf("withdrawn = %v", out)
		}
		items := checkList(t, "student enrollments", w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", second.ID),
			w.adminTok, nil).want(t, 200).Body, enrollmentShape)
		promoted := false
		for _, it := range items {
			if jnum(it, "id") == jnum(wl, "id") && it["status"] == "enrolled" && it["waitlist_position"] == nil {
				promoted = true
			}
		}
		if !promoted {
			t.Fatalf("waitlist head not promoted: %v", items)
		}
	})
	t.Run("rosterFormats", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/offerings/%d/roster", oid)
		rowShape := shape{"student_id": "int", "student_no": "str", "name": "str", "grade": "int", "class": "str", "status": "str"}
		for _, q := range []string{"", "?format=json"} {
			rows := checkList(t, "roster"+q, w.do("GET", path+q, w.teacherTok, nil).want(t, 200).Body, rowShape)
			if len(rows) != 1 || jnum(rows[0], "student_id") != second.ID {
				t.Fatalf("roster = %v", rows)
			}
		}
		if r := w.do("GET", path+"?format=csv", w.teacherTok, nil).want(t, 200); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv content type %q", r.Header.Get("Content-Type"))
		}
		if r := w.do("GET", path+"?format=xlsx", w.teacherTok, nil).want(t, 200); !bytes.HasPrefix(r.Body, []byte("PK")) {
			t.Fatal("xlsx is not a zip")
		}
	})
}

// TestContractLottery: the draw answers {seed, assigned, rejected}.
func TestContractLottery(t *testing.T) {
	w := newEnrollWorld(t)
	oid := w.publishedOffering(t, func(m map[string]any) { m["mode"] = "lottery"; m["capacity"] = 1 })
	second := modelstest.Student(t, w.db, w.schoolID, 4, "")
	app := decodeObject(t, w.do("POST", "/api/v1/enrollments", w.parentTok,
		fmt.Sprintf(`{"student_id": %d, "offering_id": %d, "rank": 1}`, w.student.ID, oid)).want(t, 201).Body)
	checkShape(t, "applied", app, enrollmentShape)
	if app["status"] != "applied" {
		t.Fatalf("application = %v", app)
	}
	w.do("POST", "/api/v1/enrollments", w.adminTok, map[string]any{"student_id": second.ID, "offering_id": oid}).want(t, 201)
	closes := time.Now().Add(-time.Second).UTC()
	if err := w.db.W.Exec("UPDATE offerings SET enroll_closes_at = ?, enroll_opens_at = ? WHERE id = ?", closes, closes.Add(-time.Hour), oid).Error; err != nil {
		t.Fatal(err)
	}
	d := decodeObject(t, w.do("POST", fmt.Sprintf("/api/v1/schools/%d/terms/%d/lottery", w.schoolID, w.termID), w.adminTok, nil).want(t, 200).Body)
	checkShape(t, "draw", d, shape{"seed": "str", "assigned": "int", "rejected": "int"})
	if jnum(d, "assigned") != 1 || jnum(d, "rejected") != 1 || d["seed"] == "" {
		t.Fatalf("draw = %v", d)
	}
	statuses := map[string]int{}
	for _, st := range []int64{w.student.ID, second.ID} {
		for _, e := range checkList(t, "enrollments", w.do("GET", fmt.Sprintf("/api/v1/students/%d/enrollments", st), w.adminTok, nil).want(t, 200).Body, enrollmentShape) {
			statuses[e["status"].(string)]++
		}
	}
	if statuses["enrolled"] != 1 || statuses["rejected"] != 1 || len(statuses) != 2 {
		t.Fatalf("statuses after the draw = %v", statuses)
	}
}

// TestOfferingListGzip: a parent whose client accepts gzip gets the cached
// list gzipped, byte for byte the list others get plainly; the answer varies
// on Accept-Encoding either way.
func TestOfferingListGzip(t *testing.T) {
	w := newEnrollWorld(t)
	w.publishedOffering(t, nil)
	path := fmt.Sprintf("/api/v1/schools/%d/offerings", w.schoolID)
	plain := w.do("GET", path, w.parentTok, nil).want(t, 200)
	if plain.Header.Get("Content-Encoding") != "" || !strings.Contains(plain.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("plain answer headers: %v", plain.Header)
	}
	for _, ae := range []string{"gzip", "br, gzip;q=0.8", "*"} {
		r := w.do("GET", path, w.parentTok, nil, "Accept-Encoding", ae).want(t, 200)
		if r.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", ae, r.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain.Body) {
			t.Fatalf("Accept-Encoding %q: gunzipped %q (%v), want %q", ae, got, err, plain.Body)
		}
	}
	for _, ae := range []string{"br", "gzip;q=0", "*;q=0", "identity"} {
		r := w.do("GET", path, w.parentTok, nil, "Accept-Encoding", ae).want(t, 200)
		if r.Header.Get("Content-Encoding") != "" || !bytes.Equal(r.Body, plain.Body) {
			t.Fatalf("Accept-Encoding %q: got %q encoded %q", ae, r.Body, r.Header.Get("Content-Encoding"))
		}
	}
}
