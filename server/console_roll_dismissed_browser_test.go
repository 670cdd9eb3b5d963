package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleBrowserRollDismissed: a child recorded as gone home, then
// tapped 缺勤 on the roll — the refusal (422 already_dismissed) shows in
// that child's row, on the phone's screen, the foot says nothing was
// submitted, and the API's roll still has the child present.
func TestConsoleBrowserRollDismissed(t *testing.T) {
	w := newBrowserWorld(t)
	defer w.fakeNow.Store(nil)
	p, start := w.futureSession(t, 2)
	w.fakeNow.Store(nil)
	ctx := w.tab(t, "demo_teacher")
	var tok string
	w.onRealClock(func() { tok = w.login(t, "demo_teacher", demoPassword) })
	w.at(start.Add(20 * time.Minute))
	phone(t, ctx)
	w.visit(t, ctx, fmt.Sprintf("#/roll/%d", p.ID))
	if err := chromedp.Do(within(t, ctx), chromedp.Click(chromedp.CSS(`.sticky-foot button.btn`)),
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`body[data-roll-saved="%d"]`, p.ID)))); err != nil {
		t.Fatal(err)
	}
	if err := settle(ctx); err != nil {
		t.Fatal(err)
	}
	child := js[string](t, ctx, `document.querySelector('ul.roll li.child').dataset.student`)
	w.apiPost(t, tok, fmt.Sprintf("/api/v1/sessions/%d/dismissal", p.ID),
		map[string]any{"records": []any{map[string]any{"student_id": jsID(child), "by": "guardian"}}}, 200)
	w.visit(t, ctx, "#/today/"+p.Date) // the same hash again would not reload the page
	w.visit(t, ctx, fmt.Sprintf("#/roll/%d", p.ID))
	if err := settle(ctx); err != nil {
		t.Fatal(err)
	}
	row := `ul.roll li.child[data-student="` + child + `"]`
	if s := js[string](t, ctx, `document.querySelector('`+row+` .left-note').innerText`); !strings.Contains(s, "家长接走") {
		t.Fatalf("the roll's row of a dismissed child says %q", s)
	}
	if err := chromedp.Do(within(t, ctx),
		chromedp.Click(chromedp.CSS(row+` button.mark.absent`)),
		chromedp.Click(chromedp.CSS(`.sticky-foot button.btn`)),
		chromedp.WaitVisible(chromedp.CSS(row+`.refused .row-error .alert.error`))); err != nil {
		w.viewShot(t, ctx, "teacher-roll-dismissed-failed")
		t.Fatal(err, js[string](t, ctx, `document.querySelector('main').innerText`))
	}
	if s := js[string](t, ctx, `document.querySelector('`+row+` .row-error').innerText`); !strings.Contains(s, "已登记离校") {
		t.Fatalf("the child's row says %q", s)
	}
	if s := js[string](t, ctx, `document.querySelector('.sticky-foot .alert.error').innerText`); !strings.Contains(s, "未提交") {
		t.Fatalf("the foot says %q", s)
	}
	onScreen := js[bool](t, ctx, `(() => { const r = document.querySelector('`+row+` .row-error').getBoundingClientRect();
		return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; })()`)
	if !onScreen {
		t.Fatal("the refusal is off the phone's screen")
	}
	var roll struct {
		Items []struct {
			StudentID int64   `json:"student_id"`
			Status    *string `json:"status"`
		} `json:"items"`
	}
	w.onRealClock(func() { w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/sessions/%d/roll", p.ID), &roll) })
	for _, e := range roll.Items {
		if fmt.Sprint(e.StudentID) == child && (e.Status == nil || *e.Status != "present") {
			t.Fatalf("the API's roll has %v for the dismissed child, want present", e.Status)
		}
	}
	w.viewShot(t, ctx, "teacher-roll-dismissed-refused")
	noCSPViolations(t, ctx)
}
