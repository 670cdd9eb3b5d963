package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// freeAddr returns a local address nobody listens on (closed again, so
// there is a small window in which another process could take it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// envFor is a getenv for run with the given overrides.
func envFor(kv ...string) func(string) string {
	m := map[string]string{"JWT_SECRET": testSecret, "LOG_FORMAT": "json"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestGracefulShutdown starts the real server with run, begins a request,
// cancels the context (what SIGTERM does in main) while the request is in
// flight, and wants the request answered and run to return cleanly.
func TestGracefulShutdown(t *testing.T) {
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	u := modelstest.Staff(t, db, models.RoleSchoolAdmin, modelstest.School(t, db, modelstest.Region(t, db, nil).ID).ID, 0)
	addr := freeAddr(t)
	env := envFor("DATABASE_URL", url, "LISTEN_ADDR", addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, nil, env, &bytes.Buffer{}, logs) }()
	if err := waitUp("http://" + addr + "/healthz"); err != nil {
		t.Fatal(err)
	}
	t.Run("healthcheckOK", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"healthcheck"}, env, &out, &bytes.Buffer{}); err != nil || strings.TrimSpace(out.String()) != "ok" {
			t.Fatalf("healthcheck = %v, %q", err, out.String())
		}
	})

	// Start a login whose body is only half sent.
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, *u.Username, modelstest.Password)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: kehou\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body[:len(body)/2])
	time.Sleep(200 * time.Millisecond) // let the server read the headers

	cancel() // SIGTERM
	// Shutdown has begun once the listener refuses new connections.
	refused := false
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Fatal("the listener still accepts connections after shutdown began")
	}
	select {
	case err := <-errc:
		t.Fatalf("run returned (%v) before the in-flight request finished", err)
	default:
	}

	if _, err := conn.Write([]byte(body[len(body)/2:])); err != nil {
		t.Fatalf("finishing the request: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	var pair map[string]any
	_ = json.NewDecoder(res.Body).Decode(&pair)
	res.Body.Close()
	if res.StatusCode != 200 || pair["access_token"] == "" {
		t.Fatalf("in-flight login answered %d %v", res.StatusCode, pair)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
	t.Run("healthcheckFailsWhenDown", func(t *testing.T) {
		if err := run(context.Background(), []string{"healthcheck"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Fatal("healthcheck succeeded with no server")
		}
	})
}

func TestLocalAddr(t *testing.T) {
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "0.0.0.0:9000": "127.0.0.1:9000",
		"[::]:7000": "127.0.0.1:7000", "10.1.2.3:80": "10.1.2.3:80", "[::1]:81": "[::1]:81"} {
		if got := localAddr(in); got != want {
			t.Errorf("localAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSeedDemo loads the (small) demo twice (the second run adds nothing)
// and logs in with a printed account: twelve schools in two counties, a
// term four weeks under way with enrollments, waitlists, a drawn lottery,
// survey answers and a snapshot for every day of the term.
func TestSeedDemo(t *testing.T) {
	url := modelstest.URL(t)
	env := envFor("DATABASE_URL", url)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "demo", "--small"}, env, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Loaded the demo county", "Simulated 29 days", "demo_platform", "demo_city", "demo_bureau",
		"demo_school", "demo_teacher", demoPassword} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"seed", "demo", "--small"}, env, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "already loaded") || !strings.Contains(out.String(), "demo_school") {
		t.Fatalf("second run printed:\n%s", out.String())
	}
	db := modelstest.Open(t, url)
	s := newTestServerOn(t, db, testConfig(t, url))
	count := func(q string, args ...any) int64 {
		var n int64
		db.R.Raw(q, args...).Scan(&n)
		return n
	}
	if n := count("SELECT COUNT(*) FROM regions"); n != 3 {
		t.Fatalf("%d regions", n)
	}
	if n := count("SELECT COUNT(*) FROM schools"); n != int64(len(demoSchools)) {
		t.Fatalf("%d schools", n)
	}
	if n := count("SELECT COUNT(*) FROM terms"); n != int64(len(demoSchools)) {
		t.Fatalf("%d terms", n)
	}
	for _, user := range []string{"demo_platform", "demo_city", "demo_bureau", "demo_school", "demo_teacher"} {
		t.Run("login/"+user, func(t *testing.T) {
			s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": demoPassword}).want(t, 200)
		})
	}
	t.Run("aliveTerm", func(t *testing.T) {
		if n := count("SELECT COUNT(*) FROM enrollments WHERE status = 'waitlisted'"); n == 0 {
			t.Error("no waitlist anywhere")
		}
		if n := count("SELECT COUNT(*) FROM offerings WHERE kind = 'club' AND enrolled_count = capacity"); n == 0 {
			t.Error("no full club")
		}
		if n := count("SELECT COUNT(*) FROM offerings WHERE mode = 'lottery' AND drawn_at IS NOT NULL"); n != int64(len(demoSchools)) {
			t.Errorf("%d lotteries drawn", n)
		}
		students := count("SELECT COUNT(*) FROM students")
		if n := count("SELECT COUNT(*) FROM survey_responses"); n*10 < students*7 {
			t.Errorf("%d survey answers for %d students", n, students)
		}
	})
	t.Run("noMarkBeforeEnrolling", func(t *testing.T) {
		// No child is on the roll of a session that had ended before the
		// child was enrolled (the seed entered a day's enrollments at
		// 19:00 once, after that afternoon's sessions).
		var rows []struct {
			Date     string     `gorm:"column:session_date"`
			EndMin   int        `gorm:"column:end_min"`
			Enrolled *time.Time `gorm:"column:enrolled_at"`
			Updated  time.Time  `gorm:"column:updated_at"`
		}
		if err := db.R.Raw(`SELECT s.session_date, s.end_min, e.enrolled_at, e.updated_at FROM attendance a
			JOIN sessions s ON s.id = a.session_id
			JOIN enrollments e ON e.student_id = a.student_id AND e.offering_id = a.offering_id
			WHERE e.status = 'enrolled'`).Scan(&rows).Error; err != nil || len(rows) == 0 {
			t.Fatal(len(rows), err)
		}
		bad := 0
		for _, r := range rows {
			day, err := time.ParseInLocation(time.DateOnly, r.Date, models.Zone)
			if err != nil {
				t.Fatal(err)
			}
			enrolled := r.Updated // as the roll counts it: COALESCE(enrolled_at, updated_at)
			if r.Enrolled != nil {
				enrolled = *r.Enrolled
			}
			if enrolled.After(day.Add(time.Duration(r.EndMin) * time.Minute)) {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%d marks on sessions that ended before the child was enrolled", bad)
		}
	})
	t.Run("invariants", func(t *testing.T) {
		// The history written set-based (models.WriteHistoryRolls,
		// WriteHistoryAnswers) keeps every invariant the operations keep.
		modelstest.CheckInvariants(t, db)
		if n := count(`SELECT COUNT(*) FROM survey_responses r JOIN students s ON s.id = r.student_id
			LEFT JOIN parent_students ps ON ps.user_id = r.user_id AND ps.student_id = r.student_id
			WHERE s.school_id <> r.school_id OR ps.user_id IS NULL`); n != 0 {
			t.Errorf("%d survey answers not of a linked child or counted for another school", n)
		}
		if n := count(`SELECT COUNT(*) FROM sessions s WHERE s.roll_taken_at IS NULL
			AND EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)`); n != 0 {
			t.Errorf("%d sessions with marks but no roll_taken_at", n)
		}
		if n := count(`SELECT COUNT(*) FROM attendance a WHERE NOT EXISTS (SELECT 1 FROM attendance_changes c
			WHERE c.session_id = a.session_id AND c.student_id = a.student_id)`); n != 0 {
			t.Errorf("%d marks without history", n)
		}
	})
	t.Run("historyRollsReadAsTheAPI", func(t *testing.T) {
		// models.ReadHistoryRolls (a day's rolls in two statements) reads
		// what FindRoll reads, session by session: children, marks,
		// leave and dismissals.
		var date string
		db.R.Raw(`SELECT s.session_date FROM sessions s JOIN leave_requests l ON l.from_date <= s.session_date
			AND l.to_date >= s.session_date JOIN dismissals d ON d.session_id = s.id
			ORDER BY s.session_date DESC LIMIT 1`).Scan(&date)
		if date == "" {
			t.Fatal("no day with leave and dismissals")
		}
		var ids []int64
		db.R.Raw("SELECT id FROM sessions WHERE session_date = ? ORDER BY id", date).Scan(&ids)
		var views []models.SessionView
		for _, id := range ids {
			s, err := models.FindSessionFor(context.Background(), db, models.SystemActor, id)
			if err != nil {
				t.Fatal(err)
			}
			views = append(views, s)
		}
		rolls, err := models.ReadHistoryRolls(context.Background(), db, views)
		if err != nil {
			t.Fatal(err)
		}
		var leave, left int
		for i, id := range ids {
			want, err := models.FindRoll(context.Background(), db, models.SystemActor, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rolls[i].Entries, want.Entries) {
				t.Fatalf("session %d on %s: history roll %+v, FindRoll %+v", id, date, rolls[i].Entries, want.Entries)
			}
			for _, e := range want.Entries {
				if e.Leave != nil {
					leave++
				}
				if e.DismissedAt != nil {
					left++
				}
			}
		}
		if leave == 0 || left == 0 {
			t.Fatalf("%s: %d children on leave, %d dismissed: the comparison proves little", date, leave, left)
		}
	})
	t.Run("payingCounty", func(t *testing.T) { // seed_fees.go
		bureau, _ := models.FindUserByUsername(context.Background(), db, "demo_bureau")
		f := s.do("GET", "/api/v1/stats/finance", s.token(bureau), nil).want(t, 200).JSON()["totals"].(map[string]any)
		for _, k := range []string{"billed_fen", "collected_fen", "refunded_fen", "waived_fen", "outstanding_fen"} {
			if f[k].(float64) <= 0 {
				t.Errorf("%s = %v", k, f[k])
			}
		}
		if f["waived_students"].(float64) < 2 {
			t.Errorf("waived students %v", f["waived_students"])
		}
		modelstest.CheckInvariants(t, db)
	})
	t.Run("dailyLoop", func(t *testing.T) {
		// Issue 22 item 3: the history shows the whole daily loop.
		for what, q := range map[string]string{
			"leave requests":           "SELECT COUNT(*) FROM leave_requests",
			"absence alerts":           "SELECT COUNT(*) FROM outbox WHERE kind = 'absence'",
			"absent children who came": "SELECT COUNT(*) FROM attendance_changes WHERE old_status = 'absent' AND new_status = 'late'",
			"corrections with reasons": "SELECT COUNT(*) FROM attendance_changes WHERE old_status IS NOT NULL AND reason <> ''",
			"dismissals":               "SELECT COUNT(*) FROM dismissals",
			"dismissal history":        "SELECT COUNT(*) FROM dismissal_changes",
			"dismissal messages":       "SELECT COUNT(*) FROM outbox WHERE kind = 'dismissal'",
		} {
			if n := count(q); n == 0 {
				t.Errorf("the demo has no %s", what)
			}
		}
		if n := count(`SELECT COUNT(*) FROM dismissals d JOIN attendance a ON a.session_id = d.session_id AND a.student_id = d.student_id
			WHERE a.status NOT IN ('present', 'late')`); n != 0 {
			t.Errorf("%d dismissals of children who did not come", n)
		}
	})
	t.Run("demoGaps", func(t *testing.T) {
		// Issue 22's afternoon user: the demo family's enrollments read as
		// applied by their parent, school 1's base service has the roll of
		// every past session taken (the demo child had 13 unmarked), and a
		// child dismissed from two sessions of a day is told once.
		if n := count(`SELECT COUNT(*) FROM enrollments e JOIN students st ON st.id = e.student_id
			JOIN users u ON u.id = e.applied_by WHERE st.student_no LIKE '2026DEMO%' AND u.role <> 'parent'`); n != 0 {
			t.Errorf("%d demo family enrollments not applied by a parent", n)
		}
		if n := count(`SELECT COUNT(*) FROM enrollments e JOIN students st ON st.id = e.student_id
			WHERE st.student_no LIKE '2026DEMO%'`); n == 0 {
			t.Error("the demo family has no enrollments")
		}
		if n := count(`SELECT COUNT(*) FROM sessions s JOIN offerings o ON o.id = s.offering_id JOIN schools sc ON sc.id = s.school_id
			WHERE sc.code = 'DEMO-S1' AND o.kind = 'basic' AND s.status = 'scheduled' AND s.session_date < ?
			AND s.roll_taken_at IS NULL`, models.LocalDate(time.Now())); n != 0 {
			t.Errorf("%d past base-service sessions of school 1 without their roll", n)
		}
		if n := count(`SELECT COUNT(*) FROM (SELECT o.user_id, o.student_id, COUNT(*) AS n FROM outbox o
			WHERE o.kind = 'dismissal' GROUP BY o.user_id, o.student_id) m
			WHERE m.n > (SELECT COUNT(DISTINCT s.session_date) FROM dismissals d JOIN sessions s ON s.id = d.session_id
				WHERE d.student_id = m.student_id)`); n != 0 {
			t.Errorf("%d families told more than once a day that their child left", n)
		}
		if n := count(`SELECT COUNT(*) FROM (SELECT d.student_id, s.session_date FROM dismissals d
			JOIN sessions s ON s.id = d.session_id GROUP BY d.student_id, s.session_date HAVING COUNT(*) > 1) x`); n == 0 {
			t.Error("no child dismissed from two sessions of a day: the check above proves little")
		}
	})
	t.Run("everyTrendHasACurve", func(t *testing.T) {
		bureau, _ := models.FindUserByUsername(context.Background(), db, "demo_bureau")
		today := models.LocalDate(time.Now())
		from := models.LocalDate(time.Now().AddDate(0, 0, -demoTermDays))
		var pts []map[string]any
		r := s.do("GET", "/api/v1/stats/trend?metric=participation_rate&from="+from+"&to="+today, s.token(bureau), nil).want(t, 200)
		if err := json.Unmarshal(r.Body, &pts); err != nil {
			t.Fatal(err)
		}
		if len(pts) != demoTermDays+1 {
			t.Fatalf("%d points from %s to %s", len(pts), from, today)
		}
		first, last := pts[0]["value"].(float64), pts[len(pts)-1]["value"].(float64)
		if !(first > 0.3 && first < last && last > 0.9) {
			t.Fatalf("participation from %.3f to %.3f", first, last)
		}
		o := s.do("GET", "/api/v1/stats/overview", s.token(bureau), nil).want(t, 200).JSON()
		if o["schools"] != 9.0 || o["schools_offering"] != 9.0 || o["schools_5plus2"] != 7.0 ||
			o["parent_support_rate"].(float64) < 0.85 || o["waitlisted"].(float64) == 0 {
			t.Fatalf("overview %v", o)
		}
	})
	t.Run("demoFamilySeesClubs", func(t *testing.T) {
		var kids []int64
		db.R.Raw(`SELECT s.id FROM students s JOIN guardians g ON g.student_id = s.id
			WHERE g.phone = ? ORDER BY s.id`, demoFamilyPhone).Scan(&kids)
		if len(kids) != 2 {
			t.Fatalf("demo family has %d children, want 2", len(kids))
		}
		var mothers []int64
		db.R.Raw(`SELECT s.id FROM students s JOIN guardians g ON g.student_id = s.id
			WHERE g.phone = ? ORDER BY s.id`, demoMotherPhone).Scan(&mothers)
		if len(mothers) != 1 || mothers[0] != kids[1] {
			t.Fatalf("the demo mother guards %v, want the younger child %d", mothers, kids[1])
		}
		parent := modelstest.Parent(t, db, kids...)
		r := s.do("GET", fmt.Sprintf("/api/v1/schools/%d/offerings?grade=3", count("SELECT id FROM schools WHERE code = 'DEMO-S1'")), s.token(parent), nil).want(t, 200)
		if len(r.JSON()["items"].([]any)) < 2 {
			t.Fatalf("offerings %s", r.Body)
		}
	})
	t.Run("staffDisplayNames", func(t *testing.T) {
		// The roll's history and the audit name people, not usernames.
		var unnamed []string
		db.R.Raw(`SELECT username FROM users WHERE username LIKE 'demo\_%' ESCAPE '\'
			AND (display_name = '' OR display_name = username) ORDER BY username`).Scan(&unnamed)
		if len(unnamed) != 0 {
			t.Fatalf("demo staff without a display name: %v", unnamed)
		}
		var changer string
		db.R.Raw(`SELECT u.display_name FROM attendance_changes c JOIN users u ON u.id = c.changed_by
			WHERE u.username = 'demo_teacher' LIMIT 1`).Scan(&changer)
		if changer != "王芳老师" {
			t.Fatalf("the demo teacher's marks are by %q", changer)
		}
	})
	t.Run("historyMessagesSent", func(t *testing.T) {
		// The simulated weeks' messages read as the families had them:
		// sent when made, none queued or failed.
		if n := count("SELECT COUNT(*) FROM outbox WHERE status <> 'sent' OR sent_at IS NULL OR sent_at <> created_at"); n != 0 {
			t.Fatalf("%d seeded messages not sent when made", n)
		}
		if n := count("SELECT COUNT(*) FROM outbox"); n == 0 {
			t.Fatal("no seeded messages")
		}
	})
	t.Run("markedSeeded", func(t *testing.T) {
		// A production server refuses this database (TestProductionRefusesSeededDatabase).
		if ok, err := models.Seeded(context.Background(), db, models.SeedDemo); err != nil || !ok {
			t.Fatalf("seeded = %v, %v", ok, err)
		}
	})
	t.Run("refusedInProduction", func(t *testing.T) {
		penv := envFor("DATABASE_URL", url, "KEHOU_ENV", "production", "WECHAT_APPID", "wx1", "WECHAT_SECRET", "s")
		if err := run(context.Background(), []string{"seed", "demo"}, penv, &bytes.Buffer{}, &bytes.Buffer{}); err == nil ||
			!strings.Contains(err.Error(), "production") {
			t.Fatalf("seed demo in production = %v", err)
		}
	})
}

// TestBackup: `kehou backup FILE` writes a consistent, openable copy,
// refuses to overwrite, and on PostgreSQL points to pg_dump.
func TestBackup(t *testing.T) {
	if modelstest.Engine() == "postgres" {
		env := envFor("DATABASE_URL", modelstest.URL(t))
		err := run(context.Background(), []string{"backup", filepath.Join(t.TempDir(), "b.db")}, env, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("backup on PostgreSQL = %v, want a pointer to pg_dump", err)
		}
		return
	}
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	sc := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	for range 5 {
		modelstest.Student(t, db, sc.ID, 2, "13900001111")
	}
	env := envFor("DATABASE_URL", url)
	dst := filepath.Join(t.TempDir(), "backup.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", dst}, env, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	copyDB := modelstest.Open(t, "sqlite:"+dst)
	var n int64
	copyDB.R.Raw("SELECT COUNT(*) FROM students").Scan(&n)
	if n != 5 {
		t.Fatalf("the backup has %d students, want 5", n)
	}
	t.Run("refusesToOverwrite", func(t *testing.T) {
		before, _ := os.Stat(dst)
		err := run(context.Background(), []string{"backup", dst}, env, &bytes.Buffer{}, &bytes.Buffer{})
		after, _ := os.Stat(dst)
		if err == nil || !strings.Contains(err.Error(), "exists") || !after.ModTime().Equal(before.ModTime()) {
			t.Fatalf("second backup = %v", err)
		}
	})
	t.Run("missingDatabase", func(t *testing.T) {
		env := envFor("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "nope.db"))
		if err := run(context.Background(), []string{"backup", filepath.Join(t.TempDir(), "x.db")}, env, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Fatal("backup of a missing database succeeded")
		}
	})
	t.Run("usage", func(t *testing.T) {
		if err := run(context.Background(), []string{"backup"}, env, &bytes.Buffer{}, &bytes.Buffer{}); err != errUsage {
			t.Fatalf("backup without FILE = %v", err)
		}
	})
}
