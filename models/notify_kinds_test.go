package models

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestNotifyKindsTable checks the one table of notification kinds.
func TestNotifyKindsTable(t *testing.T) {
	seen := map[string]bool{}
	subscriptionOf := map[string]string{}
	placeholder := regexp.MustCompile(`\{(\w+)\}`)
	ids := map[string]bool{"student_id": true, "enrollment_id": true, "draw_id": true, "offering_id": true, "session_id": true, "order_id": true}
	for _, k := range NotifyKinds {
		if seen[k.Kind] {
			t.Errorf("%s listed twice", k.Kind)
		}
		seen[k.Kind] = true
		if !strings.HasPrefix(k.TemplateEnv, "WECHAT_TEMPLATE_") || k.Title == "" || !strings.HasPrefix(k.Page, "pages/") {
			t.Errorf("%s: bad row %+v", k.Kind, k)
		}
		if k.Subscription != SubscriptionOneTime && k.Subscription != SubscriptionLongTerm {
			t.Errorf("%s: subscription %q", k.Kind, k.Subscription)
		}
		if s, ok := subscriptionOf[k.TemplateEnv]; ok && s != k.Subscription {
			t.Errorf("%s shares %s with a kind of another subscription type", k.Kind, k.TemplateEnv)
		}
		subscriptionOf[k.TemplateEnv] = k.Subscription
		for _, m := range placeholder.FindAllStringSubmatch(k.Page, -1) {
			if !ids[m[1]] {
				t.Errorf("%s: page placeholder {%s} is no id a message carries", k.Kind, m[1])
			}
		}
	}
}

// TestNotifyKindsEnqueued fails on a kind nothing enqueues (such a kind
// goes from the table: a template setting for it would never be used).
func TestNotifyKindsEnqueued(t *testing.T) {
	consts := regexp.MustCompile(`(?m)^\t(Notify\w+)\s*=\s*"(\w+)"`)
	src, err := os.ReadFile("notify_kinds.go")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	var code strings.Builder
	for _, f := range files {
		if f == "notify_kinds.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	for _, m := range consts.FindAllStringSubmatch(string(src), -1) {
		if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(code.String()) {
			t.Errorf("%s (%s) is never enqueued", m[1], m[2])
		}
		if _, ok := FindNotifyKind(m[2]); !ok {
			t.Errorf("%s (%s) has no row in NotifyKinds", m[1], m[2])
		}
	}
}

// TestNotifyKindsDocumented keeps README.md, docs/wechat.md and
// openapi.yaml listing the same kinds and template settings as the table.
func TestNotifyKindsDocumented(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	envs := map[string]bool{}
	var kinds []string
	for _, k := range NotifyKinds {
		envs[strings.TrimPrefix(k.TemplateEnv, "WECHAT_TEMPLATE_")] = true
		kinds = append(kinds, k.Kind)
	}
	sorted := func(m map[string]bool) string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}

	readme := regexp.MustCompile("(?m)^\\| `WECHAT_TEMPLATE_<KIND>` \\|.*$").FindString(read("README.md"))
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("`([A-Z_]+)`").FindAllStringSubmatch(readme, -1) {
		listed[m[1]] = true
	}
	if sorted(listed) != sorted(envs) {
		t.Errorf("README lists templates %s, the table %s", sorted(listed), sorted(envs))
	}

	doc := read("docs/wechat.md")
	rows := regexp.MustCompile("(?m)^\\| `(\\w+)` \\| `(WECHAT_TEMPLATE_\\w+)` \\| (\\S+) \\| `([^`]+)` \\| `(one_time|long_term)` \\|$").FindAllStringSubmatch(doc, -1)
	if len(rows) != len(NotifyKinds) {
		t.Errorf("docs/wechat.md has %d rows of kinds, the table %d", len(rows), len(NotifyKinds))
	}
	for _, r := range rows {
		k, ok := FindNotifyKind(r[1])
		if !ok || k.TemplateEnv != r[2] || k.Title != r[3] || k.Page != r[4] || k.Subscription != r[5] {
			t.Errorf("docs/wechat.md row %q differs from the table (%+v)", r[0], k)
		}
	}

	want := "enum: [" + strings.Join(kinds, ", ") + "]"
	api := read("openapi.yaml")
	if n := strings.Count(api, want); n != 2 {
		t.Errorf("openapi.yaml lists the kinds as %q %d times, want 2 (WeChatTemplate, Notification)", want, n)
	}
}

// TestNotifyTextFits feeds the note writers their longest cases: what
// kehou writes fits a thing field (20 characters) as written.
func TestNotifyTextFits(t *testing.T) {
	long := strings.Repeat("篮", 100)
	cases := map[string]string{
		"lotteryLongNames":  lotteryOfferings([]string{long, long, long}),
		"lotteryShortNames": lotteryOfferings([]string{"篮球社", "美术社", "围棋社", "合唱团", "航模社", "书法社"}),
		"childLinked":       childLinkedNote,
		"dismissalLongest":  dismissalNote(time.Date(2030, 12, 31, 23, 59, 0, 0, Zone), DismissedOther),
		"absence":           absenceNote("2030-12-31", 23*60+59),
		"arrived":           arrivedNote("2030-12-31", 23*60+59),
	}
	for _, n := range []string{cases["absence"], cases["arrived"], cases["dismissalLongest"]} {
		if !strings.HasPrefix(n, "12-31周二23:59") {
			t.Errorf("note %q does not name the session's day, weekday and time", n)
		}
	}
	note, _ := sessionCancelNote("2030-12-31", strings.Repeat("雨", MaxReasonLen))
	cases["sessionCancelled"] = note
	// The inbox says 停课 once (the note says it); a reason that happens
	// to contain a status does not take the status away.
	short, detail := sessionCancelNote("2030-12-16", "操场维修")
	body := MessageBody(map[string]string{"student": "李小红", "offering": "篮球社", "status": "停课", "note": short, "detail": detail,
		NoteSaysStatus: "1"})
	if strings.Count(body, "停课") != 1 || !strings.Contains(body, "操场维修") || !strings.Contains(body, "16") {
		t.Errorf("a cancelled session reads %q", body)
	}
	if body := MessageBody(map[string]string{"offering": "篮球社", "status": "已取消", "note": "原定外出活动已取消，改上室内课"}); body != "篮球社：已取消，原定外出活动已取消，改上室内课" {
		t.Errorf("a cancelled club whose reason says 已取消 reads %q", body)
	}
	note, _ = offeringCancelNote(strings.Repeat("雨", 100))
	cases["offeringCancelled"] = note
	// A held seat's note, for amounts that fit and that do not.
	until := time.Date(2030, 12, 31, 23, 59, 0, 0, Zone)
	for _, fen := range []int64{100, 5750, 99_999, 9_999_999_999} {
		note := holdNote(Enrollment{HoldExpiresAt: &until, AmountFen: &fen})
		cases[fmt.Sprintf("hold%d", fen)] = note
		if !strings.Contains(note, "12-31 23:59") {
			t.Errorf("hold note %q lost its deadline", note)
		}
	}
	// A refund's longest amounts: what a term of clubs can cost, and far
	// beyond it (the note then gives way to a shorter one).
	for _, fen := range []int64{1, 99_999_999, 1 << 62} {
		for _, c := range []struct {
			wx   int64
			done bool
		}{{fen, true}, {0, false}, {fen / 2, false}} {
			note, detail := refundNote(fen, c.wx, c.done, strings.Repeat("雨", MaxReasonLen))
			cases[fmt.Sprintf("refund%d/%d/%v", fen, c.wx, c.done)] = note
			if !strings.Contains(detail, "雨雨雨") {
				t.Errorf("refund detail %q lost the reason", detail)
			}
		}
	}
	for name, v := range cases {
		if n := utf8.RuneCountInString(v); n > ThingLimit || strings.Contains(v, "…") {
			t.Errorf("%s: %q (%d characters) does not fit a thing field", name, v, n)
		}
	}
	if got := lotteryOfferings([]string{"篮球社", "美术社"}); got != "篮球社、美术社" {
		t.Errorf("short list shortened: %q", got)
	}
	if got := lotteryOfferings([]string{"篮球社", "美术社", "围棋社", "合唱团", "航模社", "书法社"}); got != "篮球社等6个项目" {
		t.Errorf("long list: %q", got)
	}
	for _, s := range enrollmentStatuses {
		if utf8.RuneCountInString(s.Phrase) > 5 {
			t.Errorf("phrase of %s %q is longer than 5", s.Status, s.Phrase)
		}
	}
}
