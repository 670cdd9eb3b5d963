package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"kehou/models"
)

// rollcall: the roll-call peak. Every teacher of a school of its own has a
// club whose session is today and has already begun (00:05, Asia/Shanghai),
// 40 children on its roll; the teachers arrive spread over the run, each
// opens their sessions of the day, the roll, and marks all 40 in one PUT
// (mostly present, 2 absent, 1 late) — while parents of the rush school
// browse their offerings in an open loop at 0.5× B_http, as in browse.

// rollcallSeats is the roll of each teacher's club.
const rollcallSeats = 40

// rollTeacher is one teacher of the roll-call school and their club.
type rollTeacher struct {
	Token    string
	IP       string
	Offering int64
	Students []int64
}

// rollcallData is the roll-call school.
type rollcallData struct {
	SchoolID   int64
	AdminToken string
	Teachers   []rollTeacher
}

// rollcallTeachers is the number of teachers: 300, 3 with -smoke.
func (o benchOptions) rollcallTeachers() int {
	if o.Smoke {
		return 3
	}
	return 300
}

// teacherIP gives teacher i its own client address.
func teacherIP(i int) string { return fmt.Sprintf("172.16.%d.%d", (i>>8)&255, i&255) }

// prepareRollcall builds the roll-call school on a running server: its
// admin, a roster of teachers × 40 children (guardian phones of their own,
// so no rush parent is linked to them), a term containing today (today made
// an extra day taught as Monday when it is a weekend), the teachers made
// through POST /api/v1/users, and one published club per teacher meeting
// today at 00:05 with teacher_user_id set. The enrollments are made by
// enrollRollcall, after the scenario's reset.
func (e *engine) prepareRollcall(ctx context.Context) (*rollcallData, error) {
	n := e.b.o.rollcallTeachers()
	a, d := e.api, e.data
	rd := &rollcallData{}
	var tp tokenPair
	if err := a.call("POST", "/api/v1/auth/login", "", staffIP(20),
		map[string]string{"username": d.AdminUser, "password": d.AdminPass}, &tp); err != nil {
		return nil, err
	}
	adminToken := tp.AccessToken
	var idOnly struct {
		ID int64 `json:"id"`
	}
	suffix := randomHex(4)
	if err := a.call("POST", "/api/v1/schools", adminToken, staffIP(20),
		map[string]any{"name": "压测点名小学", "region_id": d.RegionID}, &idOnly); err != nil {
		return nil, err
	}
	rd.SchoolID = idOnly.ID
	saUser, saPass := "benchroll"+suffix, "Bench"+randomHex(8)
	if err := a.call("POST", "/api/v1/users", adminToken, staffIP(20),
		map[string]any{"username": saUser, "password": saPass, "role": "school_admin", "school_id": rd.SchoolID}, nil); err != nil {
		return nil, err
	}
	if err := a.firstLogin(staffIP(21), saUser, saPass, &tp); err != nil {
		return nil, err
	}
	rd.AdminToken = tp.AccessToken

	// The roster, in parts of 2,000 rows.
	total := n * rollcallSeats
	for from := 0; from < total; from += 2000 {
		to := min(from+2000, total)
		var buf bytes.Buffer
		buf.WriteString("student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&buf, "R%06d,点名学生%d,男,%d,%d班,点名家长%d,137%08d,父亲\n", i, i, 1+i%6, 1+(i/6)%8, i, i)
		}
		if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/roster", rd.SchoolID), rd.AdminToken, staffIP(21),
			rawBody{data: buf.Bytes(), ctype: "text/csv"}, nil); err != nil {
			return nil, err
		}
	}
	db, err := e.openDB()
	if err != nil {
		return nil, err
	}
	var students []int64
	err = db.Read(ctx).Raw("SELECT id FROM students WHERE school_id = ? ORDER BY id", rd.SchoolID).Scan(&students).Error
	_ = db.Close()
	if err != nil {
		return nil, err
	}
	if len(students) != total {
		return nil, fmt.Errorf("bench: roll-call roster has %d students, want %d", len(students), total)
	}

	today := time.Now().In(models.Zone)
	if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/terms", rd.SchoolID), rd.AdminToken, staffIP(21),
		map[string]any{"name": "点名学期" + suffix, "starts_on": today.AddDate(0, 0, -7).Format(time.DateOnly),
			"ends_on": today.AddDate(0, 4, 0).Format(time.DateOnly), "max_clubs": 1}, &idOnly); err != nil {
		return nil, err
	}
	termID := idOnly.ID
	weekday := int(today.Weekday())
	if weekday == 0 || weekday == 6 {
		weekday = 1
		if err := a.call("PUT", fmt.Sprintf("/api/v1/schools/%d/terms/%d/calendar", rd.SchoolID, termID), rd.AdminToken, staffIP(21),
			map[string]any{"no_service_days": []string{},
				"extra_days": []models.ExtraDay{{Date: today.Format(time.DateOnly), AsWeekday: weekday}}}, nil); err != nil {
			return nil, err
		}
	}

	rd.Teachers = make([]rollTeacher, n)
	now := time.Now()
	err = forEachParallel(ctx, n, 8, func(i int) error {
		t := &rd.Teachers[i]
		t.IP = teacherIP(i)
		t.Students = students[i*rollcallSeats : (i+1)*rollcallSeats]
		user, pass := fmt.Sprintf("benchteacher%s%d", suffix, i), "Bench"+randomHex(8)
		var u struct {
			ID int64 `json:"id"`
		}
		if err := a.call("POST", "/api/v1/users", rd.AdminToken, staffIP(21),
			map[string]any{"username": user, "password": pass, "role": "teacher", "school_id": rd.SchoolID}, &u); err != nil {
			return err
		}
		var tp tokenPair
		if err := a.firstLogin(t.IP, user, pass, &tp); err != nil {
			return err
		}
		t.Token = tp.AccessToken
		var off struct {
			ID int64 `json:"id"`
		}
		body := map[string]any{"term_id": termID, "kind": "club", "name": fmt.Sprintf("点名社团%03d", i), "category": "sports",
			"description": "压测点名", "teacher": fmt.Sprintf("老师%d", i), "teacher_user_id": u.ID, "venue": "教室",
			"weekdays": []int{weekday}, "start_time": "00:05", "end_time": "23:50", "capacity": rollcallSeats,
			"grades": []int{1, 2, 3, 4, 5, 6}, "fee_fen": 0, "mode": "fcfs", "waitlist": false,
			"enroll_opens_at":  now.Add(-time.Hour).Format(time.RFC3339),
			"enroll_closes_at": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
		if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", rd.SchoolID), rd.AdminToken, staffIP(21), body, &off); err != nil {
			return err
		}
		t.Offering = off.ID
		return a.call("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", off.ID), rd.AdminToken, staffIP(21), nil, nil)
	})
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// enrollRollcall puts each teacher's 40 children in their club, as the
// school's admin (staff may enroll).
func (e *engine) enrollRollcall(ctx context.Context, rd *rollcallData) error {
	n := len(rd.Teachers) * rollcallSeats
	return forEachParallel(ctx, n, 16, func(i int) error {
		t := rd.Teachers[i/rollcallSeats]
		return e.api.call("POST", "/api/v1/enrollments", rd.AdminToken, staffIP(22),
			map[string]int64{"student_id": t.Students[i%rollcallSeats], "offering_id": t.Offering}, nil, 201)
	})
}

// rollStatus is child j's mark: 2 absent, 1 late, the rest present.
func rollStatus(j int) string {
	switch j {
	case 7, 23:
		return models.MarkAbsent
	case 31:
		return models.MarkLate
	}
	return models.MarkPresent
}

// takeRoll is one teacher's visit: their sessions of today, the roll, the
// marks. Each request is a sample (tags "sessions", "roll", "attendance");
// a failed step ends the visit.
func (e *engine) takeRoll(lc *loadClient, t rollTeacher, t0 time.Time, i int64) []sample {
	var out []sample
	send := func(r loadRequest) (int, []byte) {
		start := time.Now()
		st, body, err := lc.do(r)
		key := answerKey(st, nil, err)
		if st != 0 && st != 200 {
			key = answerKey(st, []byte(errorCode(body)), nil)
		}
		out = append(out, sample{lat: time.Since(start), end: time.Since(t0), status: st, key: r.Tag + " " + key, tag: r.Tag, i: i})
		return st, body
	}
	st, body := send(loadRequest{Method: "GET", Path: "/api/v1/me/sessions", Token: t.Token, IP: t.IP, Tag: "sessions"})
	if st != 200 {
		return out
	}
	var mine struct {
		Items []struct {
			ID         int64 `json:"id"`
			OfferingID int64 `json:"offering_id"`
		} `json:"items"`
	}
	var session int64
	if json.Unmarshal(body, &mine) == nil {
		for _, s := range mine.Items {
			if s.OfferingID == t.Offering {
				session = s.ID
			}
		}
	}
	if session == 0 {
		out[len(out)-1].key, out[len(out)-1].status = "sessions: today's session missing", 0
		return out
	}
	path := "/api/v1/sessions/" + strconv.FormatInt(session, 10)
	if st, _ := send(loadRequest{Method: "GET", Path: path + "/roll", Token: t.Token, IP: t.IP, Tag: "roll", Gzip: true}); st != 200 {
		return out
	}
	var buf bytes.Buffer
	buf.WriteString(`{"records":[`)
	for j, s := range t.Students {
		if j > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"student_id":%d,"status":%q}`, s, rollStatus(j))
	}
	buf.WriteString(`]}`)
	send(loadRequest{Method: "PUT", Path: path + "/attendance", Token: t.Token, IP: t.IP, Body: buf.Bytes(), Tag: "attendance"})
	return out
}

// attendanceRoute is the histogram's label of the marking route.
var attendanceRoute = routeKey{"PUT", "/api/v1/sessions/:id/attendance"}

func (e *engine) rollcall(ctx context.Context) error {
	o, d, rep := e.b.o, e.data, e.b.rep
	if err := e.start(ctx); err != nil {
		return err
	}
	t0 := time.Now()
	rd, err := e.prepareRollcall(ctx)
	e.stop()
	if err != nil {
		return err
	}
	e.b.logf("[%s] roll-call school: %d teachers × %d children, clubs published, in %v", e.name,
		len(rd.Teachers), rollcallSeats, time.Since(t0).Round(time.Millisecond))
	rate := 0.5 * rep.baseline(fmt.Sprintf("B_http@%d", o.BrowseConns))
	window := o.RollcallWindow
	if window <= 0 {
		window = o.Duration
	}
	conns := o.BrowseConns + 64
	var put []sample
	res, err := e.phase(ctx, "rollcall", conns, nil, func(lc *loadClient) (*scenarioResult, error) {
		if err := e.enrollRollcall(ctx, rd); err != nil {
			return nil, err
		}
		h0 := e.scrapeLatencyOrLog()
		start := time.Now()
		var (
			mu    sync.Mutex
			parts [][]sample
			wg    sync.WaitGroup
		)
		if rate > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := openLoop(ctx, lc, o.BrowseConns, rate, window, func(i int64) loadRequest {
					return e.browseRequest(d.Parents[int(i)%len(d.Parents)])
				})
				mu.Lock()
				parts = append(parts, st.samples)
				mu.Unlock()
			}()
		}
		gap := window / time.Duration(len(rd.Teachers))
		for i, t := range rd.Teachers {
			wait := time.Until(start.Add(time.Duration(i) * gap))
			if wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			go func(i int, t rollTeacher) {
				defer wg.Done()
				ss := e.takeRoll(lc, t, start, int64(i))
				mu.Lock()
				parts = append(parts, ss)
				mu.Unlock()
			}(i, t)
		}
		wg.Wait()
		st := mergeSamples(parts, time.Since(start))
		h1 := e.scrapeLatencyOrLog()
		r := summarize(st)
		r.ArrivalRate = rate
		// A teacher's failed step (any answer but 200) is an error too.
		r.Errors += st.count(func(s sample) bool { return s.tag != "read" && s.status != 200 && !isError(s.status) })
		put = st.filter(func(s sample) bool { return s.tag == "attendance" && s.status != 0 })
		r.Extra["client_attendance_p50_ms"], r.Extra["client_attendance_p99_ms"] = percentiles(put)
		r.Extra["attendance_ok"] = float64(st.count(func(s sample) bool { return s.tag == "attendance" && s.status == 200 }))
		r.Extra["teachers"] = float64(len(rd.Teachers))
		if h0 != nil && h1 != nil {
			if h := h1.since(h0, attendanceRoute); h.total() > 0 {
				r.Extra["server_attendance_answers"] = h.total()
				r.Extra["server_attendance_p50_ms"] = h.quantile(0.5)
				r.Extra["server_attendance_p99_ms"] = h.quantile(0.99)
			}
			serverLatency(r, h0, h1, st)
		}
		return r, nil
	})
	if err != nil {
		return err
	}
	// The marks are all there: one attendance row per child on every roll.
	db, err := e.openDB()
	if err != nil {
		return err
	}
	var rows int64
	err = db.Read(ctx).Raw("SELECT count(*) FROM attendance WHERE school_id = ?", rd.SchoolID).Scan(&rows).Error
	_ = db.Close()
	if err != nil {
		return err
	}
	want := len(rd.Teachers) * rollcallSeats
	inv := invariantResult{Name: "attendance rows = teachers × 40", OK: rows == int64(want)}
	if !inv.OK {
		inv.Detail = fmt.Sprintf("%d rows, want %d", rows, want)
	}
	res.Invariants = append(res.Invariants, inv)
	x := res.Extra
	rep.informative(e.name, "rollcall", fmt.Sprintf("teachers marking 40 each over %v (browse at %.0f/s beside)", window, rate),
		"", x["teachers"])
	for _, q := range []string{"p50", "p99"} {
		rep.informative(e.name, "rollcall", "client "+q+" of PUT /attendance", "ms", x["client_attendance_"+q+"_ms"])
	}
	rep.informative(e.name, "rollcall", "server's own p50 of PUT /attendance", "ms", x["server_attendance_p50_ms"])
	rep.atMost(e.name, "rollcall", "p99 of PUT /attendance (server)", "ms", x["server_attendance_p99_ms"], 50)
	e.reportServerLatency("rollcall", "beside the roll call", res)
	rep.exactly(e.name, "rollcall", "errors", "", float64(res.Errors), 0)
	rep.exactly(e.name, "rollcall", "attendance rows (teachers × 40)", "", float64(rows), float64(want))
	return nil
}
