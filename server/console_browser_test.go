package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"kehou/models"
	"kehou/models/modelstest"
)

// The console's end-to-end tests drive a headless Chromium (Debian's
// `chromium`) against a real kehou server listening on a port, loaded with
// the (small) demo. Without Chromium they skip — unless
// KEHOU_REQUIRE_BROWSER=1 (set by .ci/run), where its absence fails. Each
// page is captured at desktop and phone size into KEHOU_SCREENSHOTS (or a
// new temporary folder, logged and kept).

// browserPath finds Chromium, or skips (fails when a browser is required).
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("KEHOU_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KEHOU_REQUIRE_BROWSER") == "1" {
		t.Fatal("KEHOU_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium fonts-wqy-microhei)")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium fonts-wqy-microhei, or set KEHOU_CHROMIUM); the console's browser tests are skipped")
	return ""
}

// browserWorld is a live server on the demo and a browser pointed at it.
type browserWorld struct {
	t        *testing.T
	srv      *testServer
	base     string
	browser  context.Context
	shots    string
	hasRoute map[string]bool
	fakeNow  atomic.Pointer[time.Time] // the server's clock when set (the teacher's session)
}

type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{{"desktop", 1366, 860, false}, {"phone", 390, 844, true}}

func newBrowserWorld(t *testing.T) *browserWorld {
	path := browserPath(t)
	url := modelstest.URL(t)
	db := modelstest.Open(t, url)
	start := time.Now()
	if _, err := loadDemo(context.Background(), db, time.Now(), true); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo (small) loaded in %v", time.Since(start).Round(time.Millisecond))
	s := newTestServerOn(t, db, testConfig(t, url))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.app.Listener(ln) }()
	t.Cleanup(func() { _ = s.app.Shutdown() })

	shots := os.Getenv("KEHOU_SCREENSHOTS")
	if shots == "" {
		if shots, err = os.MkdirTemp("", "kehou-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(1366, 860))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	w := &browserWorld{t: t, srv: s, base: "http://" + ln.Addr().String(), browser: bctx, shots: shots, hasRoute: map[string]bool{}}
	s.api.Now = func() time.Time {
		if c := w.fakeNow.Load(); c != nil {
			return *c
		}
		return time.Now()
	}
	for _, r := range s.app.GetRoutes(true) {
		w.hasRoute[r.Method+" "+r.Path] = true
	}
	return w
}

// tab opens a fresh tab (its own sessionStorage), logs user in and waits
// for the shell.
func (w *browserWorld) tab(t *testing.T, user string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(w.browser)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute) // a guard against a hung browser, generous for a loaded CI machine
	t.Cleanup(cancelT)
	err := chromedp.Do(ctx,
		chromedp.Navigate(w.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), demoPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.shell`)),
	)
	if err != nil {
		t.Fatalf("log in as %s: %v", user, err)
	}
	return ctx
}

// settle waits until the page has no loading placeholder and its charts
// have drawn a frame.
func settle(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`main .card, main .sessions, main .roll, main .alert`))); err != nil {
		return err
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('main .loading').length === 0`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		return err
	}
	return chromedp.Do(ctx, chromedp.Sleep(450*time.Millisecond))
}

// visit opens a hash route and waits for it to settle.
func (w *browserWorld) visit(t *testing.T, ctx context.Context, route string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`location.hash = %q`, route))); err != nil {
		t.Fatal(err)
	}
	if err := settle(ctx); err != nil {
		t.Fatalf("%s did not settle: %v", route, err)
	}
}

// noCSPViolations fails when the page counted a Content-Security-Policy
// violation (app.js counts them).
func noCSPViolations(t *testing.T, ctx context.Context) {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.cspViolations || '0'`))
	if err != nil {
		t.Fatal(err)
	}
	if n != "0" {
		t.Errorf("%s Content-Security-Policy violations on the page", n)
	}
}

// shoot captures the whole page at each viewport.
func (w *browserWorld) shoot(t *testing.T, ctx context.Context, name string, route string) {
	t.Helper()
	w.shootAt(t, ctx, name, route, viewports)
}

// shootAt captures the whole page at each of vps (the last one stays).
func (w *browserWorld) shootAt(t *testing.T, ctx context.Context, name string, route string, vps []viewport) {
	t.Helper()
	for _, vp := range vps {
		var opts []chromedp.EmulateViewportOption
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
			t.Fatal(err)
		}
		if route != "" {
			w.visit(t, ctx, route)
		} else if err := chromedp.Do(ctx, chromedp.Sleep(400*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.shots, name+"-"+vp.name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// apiGet calls the API as user (a password login of its own).
func (w *browserWorld) apiGet(t *testing.T, user, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+w.login(t, user, demoPassword))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s as %s: %d", path, user, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// login logs user in through the API and returns the access token ("" when
// the login does not answer 200).
func (w *browserWorld) login(t *testing.T, user, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	res, err := http.Post(w.base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	if res.StatusCode != 200 {
		return ""
	}
	return tok.AccessToken
}

// apiPost sends a JSON body with token and wants status.
func (w *browserWorld) apiPost(t *testing.T, token, path string, in any, status int) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", w.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("POST %s: %d, want %d", path, res.StatusCode, status)
	}
}

func pct1(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

func grouped(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestConsoleBrowser: the bureau admin's overview shows the API's figures
// and a drawn chart; a roster with two bad rows shows both beside their
// cells; a teacher marks a roll and the API has it. Every page is
// captured at desktop and phone size.
func TestConsoleBrowser(t *testing.T) {
	began := time.Now()
	w := newBrowserWorld(t)
	defer func() { t.Logf("browser tests took %v", time.Since(began).Round(time.Millisecond)) }()

	t.Run("bureauOverview", func(t *testing.T) {
		ctx := w.tab(t, "demo_bureau")
		if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(`body[data-figures="shown"]`))); err != nil {
			t.Fatal(err)
		}
		// The overview may render twice (the cached answer, then the fresh
		// one): read the cards once they are there, not between renders.
		var shown [][]string
		for try := 0; try < 50 && len(shown) < 9; try++ {
			if try > 0 {
				time.Sleep(100 * time.Millisecond)
			}
			var err error
			shown, err = chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll('.stat')].map(e =>
				[e.querySelector('.stat-label').textContent, e.querySelector('.stat-value').textContent])`))
			if err != nil {
				t.Fatal(err)
			}
		}
		var api map[string]any
		w.apiGet(t, "demo_bureau", "/api/v1/stats/overview", &api)
		f := func(k string) float64 { v, _ := api[k].(float64); return v }
		want := map[string]string{
			"学生参与率": pct1(f("participation_rate")), "学校覆盖率": pct1(f("coverage_rate")),
			`"5+2"达标率`: pct1(f("schools_5plus2") / f("schools")), "家长支持率": pct1(f("parent_support_rate")),
			"家长满意率": pct1(f("satisfaction_rate")), "出勤率": pct1(f("attendance_rate")),
			"在校学生": grouped(int64(f("students"))), "参与学生": grouped(int64(f("participants"))),
			"学校": grouped(int64(f("schools"))),
		}
		got := map[string]string{}
		for _, p := range shown {
			got[p[0]] = p[1]
		}
		for label, v := range want {
			if got[label] != v {
				t.Errorf("%s: page shows %q, the API %q", label, got[label], v)
			}
		}
		if f("participants") == 0 || f("parent_support_rate") == 0 {
			t.Errorf("the demo's overview is empty: %v", api)
		}
		// The chart: a canvas with drawn pixels.
		if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(`body[data-chart="drawn"]`)), chromedp.Sleep(500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		painted, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const c = document.querySelector('#chart-trend canvas'); if (!c) return 0;
				const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
				for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })()`))
		if err != nil {
			t.Fatal(err)
		}
		if painted < 500 {
			t.Fatalf("the trend chart's canvas has %d painted pixels", painted)
		}
		w.measure(t, ctx)
		w.shoot(t, ctx, "bureau-overview", "#/overview")
		w.shoot(t, ctx, "bureau-trends", "#/trends")
		w.shoot(t, ctx, "bureau-schools", "#/schools")
		// The summary, the filter and the export button share one row.
		if !eval[bool](t, ctx, `(() => { const r = document.querySelector('main .table-tools');
			return !!(r && r.querySelector('label.check') && r.querySelector('span.muted') && r.querySelector('button')); })()`) {
			t.Fatal("学校排行: the filter and the export button are not on one row")
		}
		checkConsoleXLSX(t, ctx)
		var sid int64
		w.srv.db.R.Raw("SELECT id FROM schools WHERE code = 'DEMO-S4'").Scan(&sid)
		w.shoot(t, ctx, "bureau-school-detail", fmt.Sprintf("#/school/%d", sid))
		w.shoot(t, ctx, "bureau-breakdown", "#/breakdown")
		w.shoot(t, ctx, "bureau-demand", "#/demand")
		w.shoot(t, ctx, "bureau-regions", "#/regions")
		noCSPViolations(t, ctx)
	})

	t.Run("cityRegionTree", func(t *testing.T) {
		ctx := w.tab(t, "demo_city")
		w.visit(t, ctx, "#/regions")
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.tree .tree-item').length`))
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("the city's tree shows %d regions, want 3", n)
		}
		w.shoot(t, ctx, "city-regions", "")
	})

	t.Run("firstLoginSetsPassword", func(t *testing.T) {
		// A school admin makes a teacher account through the API; the
		// teacher's first console login asks for a password of their own.
		var me struct {
			SchoolID int64 `json:"school_id"`
		}
		w.apiGet(t, "demo_school", "/api/v1/me", &me)
		admin := w.login(t, "demo_school", demoPassword)
		w.apiPost(t, admin, "/api/v1/users", map[string]any{
			"username": "new_teacher", "password": "Chosen-by-admin-1", "role": "teacher", "school_id": me.SchoolID,
		}, 201)
		ctx, cancel := chromedp.NewContext(w.browser)
		t.Cleanup(cancel)
		ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
		t.Cleanup(cancelT)
		err := chromedp.Do(ctx,
			chromedp.Navigate(w.base+"/"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "new_teacher"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "Chosen-by-admin-1"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`input[autocomplete=new-password]`)),
		)
		if err != nil {
			t.Fatalf("first login did not ask for a new password: %v", err)
		}
		w.shoot(t, ctx, "first-login-set-password", "")
		err = chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`input[placeholder=新密码]`), "Teacher-own-pass-9"),
			chromedp.SendKeys(chromedp.CSS(`input[placeholder=再次输入新密码]`), "Teacher-own-pass-9"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.shell`)),
		)
		if err != nil {
			t.Fatalf("setting the password did not sign in: %v", err)
		}
		noCSPViolations(t, ctx)
		if tok := w.login(t, "new_teacher", "Teacher-own-pass-9"); tok == "" {
			t.Fatal("the new password does not log in through the API")
		}
	})

	t.Run("schoolRosterBadRows", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		csv := "student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\n" +
			"2026E2E01,测试甲,男,3,1班,测试家长甲,13900001111,父亲\n" +
			"2026E2E02,测试乙,女,十,1班,测试家长乙,13900002222,母亲\n" +
			"2026E2E03,测试丙,男,4,2班,测试家长丙,13900003333,父亲\n" +
			"2026E2E04,测试丁,女,5,1班,测试家长丁,12345,母亲\n"
		file := filepath.Join(t.TempDir(), "名单.csv")
		if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		w.visit(t, ctx, "#/import")
		err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{file}, chromedp.NodeReady),
			chromedp.WaitVisible(chromedp.CSS(`#bad-rows`)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#bad-rows tbody tr')].map(tr => tr.innerText)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || !strings.Contains(rows[0], "十") || !strings.Contains(rows[1], "12345") {
			t.Fatalf("bad rows shown: %q", rows)
		}
		marked, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#bad-rows td.bad').length`))
		if marked != 2 {
			t.Errorf("%d refused cells marked, want 2", marked)
		}
		var n int64
		w.srv.db.R.Raw("SELECT COUNT(*) FROM students WHERE student_no LIKE '2026E2E%'").Scan(&n)
		if n != 0 {
			t.Fatalf("%d students written from a refused file", n)
		}
		w.shoot(t, ctx, "school-import-bad-rows", "")

		// The same from Excel: the page reads the .xlsx itself to show the
		// refused rows' cells.
		x := excelize.NewFile()
		for i, line := range strings.Split(strings.TrimSpace(csv), "\n") {
			cells := strings.Split(line, ",")
			row := make([]any, len(cells))
			for j, c := range cells {
				row[j] = c
			}
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := x.SetSheetRow("Sheet1", cell, &row); err != nil {
				t.Fatal(err)
			}
		}
		xfile := filepath.Join(t.TempDir(), "名单.xlsx")
		if err := x.SaveAs(xfile); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById('bad-rows').remove(), true)`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{xfile}, chromedp.NodeReady),
			chromedp.WaitVisible(chromedp.CSS(`#bad-rows`))); err != nil {
			t.Fatal(err)
		}
		xrows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#bad-rows tbody tr')].map(tr => tr.innerText)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(xrows) != 2 || !strings.Contains(xrows[0], "测试乙") || !strings.Contains(xrows[1], "12345") {
			t.Fatalf("bad rows of the .xlsx shown: %q", xrows)
		}
		w.shoot(t, ctx, "school-offerings", "#/offerings")
		var oid int64
		w.srv.db.R.Raw("SELECT o.id FROM offerings o JOIN schools s ON s.id = o.school_id WHERE s.code = 'DEMO-S1' AND o.kind = 'club' ORDER BY o.waitlisted_count DESC LIMIT 1").Scan(&oid)
		w.shoot(t, ctx, "school-offering-detail", fmt.Sprintf("#/offering/%d", oid))
		w.shoot(t, ctx, "school-students", "#/students")
		w.shoot(t, ctx, "school-terms", "#/terms")
		w.shoot(t, ctx, "school-lottery", "#/lottery")
		w.shoot(t, ctx, "school-overview", "#/overview")
		noCSPViolations(t, ctx)
	})

	t.Run("teacherRoll", func(t *testing.T) {
		for _, r := range []string{"GET /api/v1/me/sessions", "GET /api/v1/sessions/:id/roll", "PUT /api/v1/sessions/:id/attendance"} {
			if !w.hasRoute[r] {
				t.Skipf("teacher roll: this build has no %s (the attendance API of SPEC.md); the page is there, its test needs the API", r)
			}
		}
		teacherRoll(t, w)
	})
}

// measure logs the overview's first meaningful paint (the figures in the
// DOM, and Chromium's first contentful paint) on a cold load, and what the
// page moved over the network, compressed.
func (w *browserWorld) measure(t *testing.T, ctx context.Context) {
	t.Helper()
	type metrics struct {
		FCP      float64 `json:"fcp"`
		Figures  float64 `json:"figures"`
		Transfer int64   `json:"transfer"`
		Decoded  int64   `json:"decoded"`
		Requests int     `json:"requests"`
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	defer chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: false})
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"/#/overview"),
		chromedp.WaitReady(chromedp.CSS(`body[data-chart="drawn"]`)), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	m, err := chromedp.Run(ctx, chromedp.Evaluate[metrics](`(() => {
			const nav = performance.getEntriesByType('navigation')[0];
			const res = performance.getEntriesByType('resource');
			const fcp = performance.getEntriesByName('first-contentful-paint')[0];
			const fig = performance.getEntriesByName('kehou:figures')[0];
			return { fcp: fcp ? fcp.startTime : -1, figures: fig ? fig.startTime : -1,
				transfer: nav.transferSize + res.reduce((n, e) => n + e.transferSize, 0),
				decoded: nav.decodedBodySize + res.reduce((n, e) => n + e.decodedBodySize, 0),
				requests: res.length + 1 };
		})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bureau overview, cold load: first contentful paint %.0f ms, figures shown %.0f ms; %d requests, %d bytes transferred (%d decoded)",
		m.FCP, m.Figures, m.Requests, m.Transfer, m.Decoded)
	if m.Transfer > 600<<10 {
		t.Errorf("the overview moved %d bytes, over the 600 KB budget", m.Transfer)
	}
	if m.Figures < 0 {
		t.Error("the figures mark is missing")
	}
}

// teacherRoll: the teacher opens, on a phone, the latest session of a club
// they teach (the server's clock set to that session's afternoon), marks a
// child absent with one tap, submits, and the API's roll has it.
func teacherRoll(t *testing.T, w *browserWorld) {
	t.Helper()
	var sess struct {
		ID       int64
		Date     string
		StartMin int
	}
	// A session with no dismissals yet: a child dismissed cannot be marked
	// absent (422 already_dismissed), and the seed records a session's
	// dismissals twenty minutes after it ends, so in the evening today's
	// have theirs.
	w.srv.db.R.Raw(`SELECT s.id, s.session_date AS date, s.start_min FROM sessions s
		JOIN offerings o ON o.id = s.offering_id JOIN users u ON u.id = o.teacher_user_id
		WHERE u.username = 'demo_teacher' AND s.status = 'scheduled' AND s.session_date <= ? AND o.enrolled_count > 0
			AND NOT EXISTS (SELECT 1 FROM dismissals d WHERE d.session_id = s.id)
		ORDER BY s.session_date DESC, s.start_min LIMIT 1`, models.LocalDate(time.Now())).Scan(&sess)
	if sess.ID == 0 {
		t.Fatal("the demo has no session of demo_teacher with children up to today")
	}
	day, err := time.ParseInLocation(time.DateOnly, sess.Date, models.Zone)
	if err != nil {
		t.Fatal(err)
	}
	// Logged in on the real clock (tokens are signed with the server's
	// clock and checked against the real one), then the server's clock is
	// moved to ten minutes into the session, when the roll may be taken.
	ctx := w.tab(t, "demo_teacher")
	clock := day.Add(time.Duration(sess.StartMin+10) * time.Minute)
	w.fakeNow.Store(&clock)
	defer w.fakeNow.Store(nil)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatal(err)
	}
	w.visit(t, ctx, "#/today/"+sess.Date)
	w.shoot(t, ctx, "teacher-today", "#/today/"+sess.Date)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatal(err)
	}
	w.visit(t, ctx, fmt.Sprintf("#/roll/%d", sess.ID))
	student, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('li.child').dataset.student`))
	if err != nil || student == "" {
		t.Fatalf("no child on the roll: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`li.child[data-student="`+student+`"] button.mark.absent`)),
		chromedp.Click(chromedp.CSS(`.sticky-foot button`)),
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`body[data-roll-saved="%d"]`, sess.ID))))
	if err != nil {
		t.Fatal(err)
	}
	if err := settle(ctx); err != nil {
		t.Fatal(err)
	}
	w.fakeNow.Store(nil)
	var roll struct {
		Items []struct {
			StudentID int64   `json:"student_id"`
			Status    *string `json:"status"`
		} `json:"items"`
	}
	w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/sessions/%d/roll", sess.ID), &roll)
	found := false
	for _, e := range roll.Items {
		if fmt.Sprint(e.StudentID) == student {
			found = true
			if e.Status == nil || *e.Status != "absent" {
				t.Fatalf("the API's roll has %v for student %s, want absent", e.Status, student)
			}
		}
	}
	if !found {
		t.Fatalf("student %s not on the API's roll", student)
	}
	w.shoot(t, ctx, "teacher-roll", "")
	noCSPViolations(t, ctx)
}

// checkConsoleXLSX: the console's own .xlsx writer (xlsx.js, for the
// tables it exports as shown) makes a file excelize reads back whole, its
// dimension tag naming the used range and its rates formatted 0.0%.
func checkConsoleXLSX(t *testing.T, ctx context.Context) {
	t.Helper()
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const src = document.querySelector('script[type=module]').src;
		const m = await import(src.replace(/app\.js$/, 'xlsx.js'));
		const blob = m.xlsxBlob([['学校', '参与率', '备注'], ['一小', 0.5], ['二小', 0.25, '<&>']], [1]);
		let s = '';
		for (const x of new Uint8Array(await blob.arrayBuffer())) s += String.fromCharCode(x);
		return btoa(s); })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the console's .xlsx: %v", err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, _ := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if len(rows) != 3 || rows[0][1] != "参与率" || rows[1][1] != "0.5" || rows[2][2] != "<&>" {
		t.Fatalf("the console's .xlsx reads %q", rows)
	}
	// A rate column is a number shown as a percentage, as on screen.
	if shown, _ := f.GetCellValue(sheet, "B3"); shown != "25.0%" {
		t.Fatalf("the console's .xlsx shows a rate as %q, want 25.0%%", shown)
	}
	checkXLSXDimension(t, f)
}
