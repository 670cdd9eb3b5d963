package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestTypedClientParentScreens generates TypeScript types from openapi.yaml
// (openapi-typescript), compiles a typed client of the parent's screens
// with tsc --strict (testdata/tsclient/client.ts: a field the contract
// leaves optional where a screen needs it fails the build), and runs it
// against a real kehou, fake WeChat and fake WeChat Pay through every
// parent screen — login, children, clubs, enroll, consent, a priced club
// held then paid through WeChat Pay, leave, the month's attendance, the
// inbox — counting the calls: first launch to enrolled in at most 4, a
// later launch in 1. It needs node and npm (and the npm registry, or its
// cache); without them it skips saying so, unless KEHOU_REQUIRE_NODE=1
// (.ci/run, which installs them) or KEHOU_REQUIRE_BROWSER=1, where it fails.
func TestTypedClientParentScreens(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the typed client test installs npm packages")
	}
	required := os.Getenv("KEHOU_REQUIRE_NODE") == "1" || os.Getenv("KEHOU_REQUIRE_BROWSER") == "1"
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			if required {
				t.Fatalf("%s not found (KEHOU_REQUIRE_NODE=1): the typed client test needs node and npm", bin)
			}
			t.Skipf("%s not found: the typed client test needs node and npm (apt-get install nodejs npm; CI installs them)", bin)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "tsconfig.json", "client.ts"} {
		b, err := os.ReadFile(filepath.Join("testdata", "tsclient", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := filepath.Abs(filepath.Join("..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sh := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		if required {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
		t.Skipf("npm ci failed (no npm registry or cache here?): %v\n%s", err, out)
	}
	sh(filepath.Join("node_modules", ".bin", "openapi-typescript"), spec, "-o", "api.d.ts")
	sh(filepath.Join("node_modules", ".bin", "tsc"), "-p", ".")

	// A school with a child whose guardian phone the parent will prove, and
	// an open club.
	dbURL := modelstest.URL(t)
	db := modelstest.Open(t, dbURL)
	region := modelstest.Region(t, db, nil)
	school := modelstest.School(t, db, region.ID)
	const phone = "13812340000"
	modelstest.Student(t, db, school.ID, 3, phone)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, school.ID, 0)
	term := modelstest.Term(t, db, admin, school.ID, 2)
	modelstest.Offering(t, db, admin, term, func(n *models.NewOffering) { n.Teacher, n.Venue = "王老师", "操场" })
	// A priced club on other days: 30 元 a term.
	modelstest.Offering(t, db, admin, term, func(n *models.NewOffering) {
		n.Name, n.Teacher, n.Venue, n.Weekdays, n.FeeFen = "美术社", "李老师", "美术室", []int{1, 3}, 3000
	})

	apiAddr, fakeAddr := freeAddr(t), freeAddr(t)
	env := envOf(map[string]string{"LISTEN_ADDR": apiAddr, "DATABASE_URL": dbURL, "JWT_SECRET": testSecret,
		"WECHAT_FAKE": "1", "WECHAT_FAKE_ADDR": fakeAddr, "WECHAT_TEMPLATE_ENROLLMENT": "tplEnroll",
		"WECHAT_TEMPLATE_WAITLIST": "tplWait", "WECHAT_TEMPLATE_LOTTERY": "tplLottery", "WECHAT_TEMPLATE_ABSENCE": "tplAbsence"})
	rctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(rctx, nil, env, io.Discard, io.Discard) }()
	defer func() {
		stop()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	api := "http://" + apiAddr
	for deadline := time.Now().Add(10 * time.Second); ; {
		if res, err := http.Get(api + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("kehou did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	out := sh("node", filepath.Join("dist", "client.js"), api, "http://"+fakeAddr, phone)
	var r struct {
		LaunchToEnrolled int      `json:"launchToEnrolled"`
		RelaunchCalls    int      `json:"relaunchCalls"`
		Calls            []string `json:"calls"`
		Lines            []string `json:"lines"`
		EnrolledScreen   string   `json:"enrolledScreen"`
		Consents         []struct {
			TemplateID string `json:"template_id"`
			OneTime    int    `json:"one_time"`
		} `json:"consents"`
		Already     string   `json:"already"`
		Kids        []string `json:"kids"`
		Messages    []string `json:"messages"`
		PaidScreen  string   `json:"paidScreen"`
		ToPaid      int      `json:"toPaid"`
		LeaveScreen string   `json:"leaveScreen"`
		LeaveLines  []string `json:"leaveLines"`
		LeaveDay    string   `json:"leaveDay"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &r); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	t.Logf("calls: %s", strings.Join(r.Calls, ", "))
	if r.LaunchToEnrolled > 4 {
		t.Errorf("first launch to enrolled took %d calls, want ≤ 4: %v", r.LaunchToEnrolled, r.Calls[:r.LaunchToEnrolled])
	}
	if r.RelaunchCalls != 1 {
		t.Errorf("a later launch took %d calls to show the children, want 1", r.RelaunchCalls)
	}
	if len(r.Lines) != 2 || !strings.Contains(strings.Join(r.Lines, "|"), "篮球社 王老师 24 16:30-18:00 30 open") {
		t.Errorf("club list %v", r.Lines)
	}
	if !strings.Contains(r.EnrolledScreen, "篮球社 操场") || !strings.HasSuffix(r.EnrolledScreen, "enrolled") {
		t.Errorf("enrolled screen %q", r.EnrolledScreen)
	}
	if len(r.Consents) != 3 || r.Consents[0].OneTime != 1 {
		t.Errorf("consents %+v (asked for the 3 one-time templates)", r.Consents)
	}
	if !strings.Contains(r.Already, "409 already_enrolled") {
		t.Errorf("second enroll: %q", r.Already)
	}
	// Paid through WeChat Pay: the seat held, the order signed, paid by the
	// parent's WeChat, the notification applied.
	if !strings.HasPrefix(r.PaidScreen, "美术社 ") || !strings.Contains(r.PaidScreen, " paid ") {
		t.Errorf("paid screen %q", r.PaidScreen)
	}
	t.Logf("enroll in a priced club to paid: %d calls (enroll, wechat-pay, order until the notification landed)", r.ToPaid)
	if !strings.Contains(r.LeaveScreen, r.LeaveDay+".."+r.LeaveDay+" active") {
		t.Errorf("leave %q (day %s)", r.LeaveScreen, r.LeaveDay)
	}
	if len(r.LeaveLines) != 1 || r.LeaveLines[0] != r.LeaveDay+" 篮球社 leave 发烧请假 active" {
		t.Errorf("attendance with leave %v", r.LeaveLines)
	}
	if len(r.Kids) != 1 || !strings.Contains(r.Kids[0], "篮球社/王老师/enrolled") || !strings.Contains(r.Kids[0], "美术社/李老师/enrolled") {
		t.Errorf("children %v", r.Kids)
	}
	inbox := strings.Join(r.Messages, "\n")
	if !strings.Contains(inbox, "报名结果|") || !strings.Contains(inbox, "|in_app|") {
		t.Errorf("inbox %v", r.Messages)
	}
	t.Logf("inbox: %v", r.Messages)
}
