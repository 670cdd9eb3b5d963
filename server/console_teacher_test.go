package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kehou/models"
)

// demoTeacherSession is a scheduled session of a club demo_teacher teaches,
// with children.
type demoTeacherSession struct {
	ID       int64
	Date     string
	StartMin int
}

// futureSession is the n-th (from 0) session of demo_teacher after today,
// and when it starts: one the demo's history has not touched.
func (w *browserWorld) futureSession(t *testing.T, n int) (demoTeacherSession, time.Time) {
	t.Helper()
	var s demoTeacherSession
	w.srv.db.R.Raw(`SELECT s.id, s.session_date AS date, s.start_min FROM sessions s
		JOIN offerings o ON o.id = s.offering_id JOIN users u ON u.id = o.teacher_user_id
		WHERE u.username = 'demo_teacher' AND s.status = 'scheduled' AND o.enrolled_count > 0 AND s.session_date > ?
		ORDER BY s.session_date, s.start_min LIMIT 1 OFFSET ?`, models.LocalDate(time.Now()), n).Scan(&s)
	if s.ID == 0 {
		t.Fatalf("the demo has no %d-th session of demo_teacher after today", n)
	}
	day, err := time.ParseInLocation(time.DateOnly, s.Date, models.Zone)
	if err != nil {
		t.Fatal(err)
	}
	return s, day.Add(time.Duration(s.StartMin) * time.Minute)
}

// at moves the server's clock (the browser keeps the real one: the page
// must take where the roll stands from the server).
func (w *browserWorld) at(t time.Time) { w.fakeNow.Store(&t) }

// onRealClock runs f with the server on the real clock: logins sign their
// tokens with the server's clock, and tokens are checked against the real
// one.
func (w *browserWorld) onRealClock(f func()) {
	saved := w.fakeNow.Swap(nil)
	defer w.fakeNow.Store(saved)
	f()
}

// phone switches the tab to the phone viewport.
func phone(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatal(err)
	}
}

// js evaluates expr in the tab.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// viewShot captures what the phone's screen shows (not the whole page).
func (w *browserWorld) viewShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.shots, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dismissedOn counts the children of session id the API has as dismissed.
func (w *browserWorld) dismissedOn(t *testing.T, id int64) map[int64]string {
	t.Helper()
	var roll struct {
		Items []struct {
			StudentID   int64   `json:"student_id"`
			DismissedBy *string `json:"dismissed_by"`
		} `json:"items"`
	}
	w.onRealClock(func() { w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/sessions/%d/roll", id), &roll) })
	out := map[int64]string{}
	for _, e := range roll.Items {
		if e.DismissedBy != nil {
			out[e.StudentID] = *e.DismissedBy
		}
	}
	return out
}

// TestConsoleBrowserTeacher: the teacher's roll and dismissal on a phone
// (issue 22 items 4 and 7). A session not yet started shows "未开始",
// nothing pre-filled, nothing to send; a 409 shows beside the submit button
// on the phone's screen; dismissal is one child at a time, by that child's
// own button, and the page shows who has left without a reload; an admin
// correcting a past day has a reason to fill in.
func TestConsoleBrowserTeacher(t *testing.T) {
	w := newBrowserWorld(t)
	defer w.fakeNow.Store(nil)

	t.Run("not_started", func(t *testing.T) {
		f, start := w.futureSession(t, 0)
		w.fakeNow.Store(nil)
		ctx := w.tab(t, "demo_teacher")
		w.at(start.Add(-30 * time.Minute))
		phone(t, ctx)
		w.visit(t, ctx, fmt.Sprintf("#/roll/%d", f.ID))
		if s := js[string](t, ctx, `(document.querySelector('.roll-state') || {}).innerText || ''`); !strings.Contains(s, "未开始") {
			t.Fatalf("a session not yet started shows %q, want 未开始", s)
		}
		if n := js[int](t, ctx, `document.querySelectorAll('li.child button.mark.on').length`); n != 0 {
			t.Fatalf("%d marks pre-filled before the start", n)
		}
		if !js[bool](t, ctx, `document.querySelector('.sticky-foot button.btn').disabled`) {
			t.Fatal("the submit button is enabled before the start")
		}
		w.shoot(t, ctx, "teacher-roll-not-started", "")

		t.Run("409_beside_the_button", func(t *testing.T) {
			// The session starts; the teacher opens the roll; meanwhile
			// the school cancels it (rain); the teacher submits: 409.
			w.at(start.Add(10 * time.Minute))
			phone(t, ctx)
			w.visit(t, ctx, "#/today/"+f.Date) // the same hash again would not reload the page
			w.visit(t, ctx, fmt.Sprintf("#/roll/%d", f.ID))
			if n := js[int](t, ctx, `document.querySelectorAll('ul.roll li.child button.mark.present.on').length`); n == 0 {
				t.Fatal("once started, the roll does not start the children as present")
			}
			var tok string
			w.onRealClock(func() { tok = w.login(t, "demo_school", demoPassword) })
			w.apiPost(t, tok, fmt.Sprintf("/api/v1/sessions/%d/cancel", f.ID), map[string]string{"reason": "暴雨"}, 200)
			if err := chromedp.Do(within(t, ctx), chromedp.Click(chromedp.CSS(`.sticky-foot button.btn`)),
				chromedp.WaitVisible(chromedp.CSS(`.sticky-foot .alert.error`))); err != nil {
				t.Fatal(err)
			}
			onScreen := js[bool](t, ctx, `(() => { const r = document.querySelector('.sticky-foot .alert.error').getBoundingClientRect();
				return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; })()`)
			if !onScreen {
				t.Fatal("the 409 is off the phone's screen")
			}
			if s := js[string](t, ctx, `document.querySelector('.sticky-foot .alert.error').innerText`); !strings.Contains(s, "停课") {
				t.Fatalf("the error says %q", s)
			}
			w.viewShot(t, ctx, "teacher-roll-409-phone-screen")
		})
	})

	p, start := w.futureSession(t, 1)
	t.Run("dismiss_one_child", func(t *testing.T) {
		w.fakeNow.Store(nil)
		ctx := w.tab(t, "demo_teacher")
		w.at(start.Add(20 * time.Minute))
		phone(t, ctx)
		w.visit(t, ctx, fmt.Sprintf("#/roll/%d", p.ID))
		absent := js[string](t, ctx, `document.querySelectorAll('li.child')[1].dataset.student`)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`ul.roll li.child[data-student="`+absent+`"] button.mark.absent`)),
			chromedp.Click(chromedp.CSS(`.sticky-foot button.btn`)),
			chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`body[data-roll-saved="%d"]`, p.ID))),
			chromedp.WaitVisible(chromedp.CSS(`ul.dismissal`))); err != nil {
			t.Fatal(err)
		}
		if err := settle(ctx); err != nil {
			t.Fatal(err)
		}
		if n := js[int](t, ctx, `document.querySelectorAll('ul.dismissal li[data-student="`+absent+`"]').length`); n != 0 {
			t.Fatal("the absent child is offered for dismissal")
		}
		before := w.dismissedOn(t, p.ID)
		child := js[string](t, ctx, `[...document.querySelectorAll('ul.dismissal li.child')].find((li) => !li.classList.contains('left')).dataset.student`)
		// Choosing how a child leaves sends nothing; the child's own
		// button does.
		row := `ul.dismissal li.child[data-student="` + child + `"]`
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(row+` button.mark[data-by="guardian"]`))); err != nil {
			t.Fatal(err)
		}
		if got := w.dismissedOn(t, p.ID); len(got) != len(before) {
			t.Fatalf("choosing a way sent a dismissal: %v", got)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(row+` button.confirm-left`)),
			chromedp.WaitVisible(chromedp.CSS(row+`.left .left-note`))); err != nil {
			t.Fatal(err)
		}
		after := w.dismissedOn(t, p.ID)
		if len(after) != len(before)+1 || after[jsID(child)] != "guardian" {
			t.Fatalf("dismissed before %v, after %v; want only %s added", before, after, child)
		}
		if n := js[int](t, ctx, `document.querySelectorAll('ul.dismissal li.child.left').length`); n != len(after) {
			t.Fatalf("the page shows %d children left, the API %d", n, len(after))
		}
		if s := js[string](t, ctx, `document.querySelector('`+row+` .left-note').innerText`); !strings.Contains(s, "家长接走") {
			t.Fatalf("the row says %q", s)
		}
		if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(row))); err != nil {
			t.Fatal(err)
		}
		w.viewShot(t, ctx, "teacher-dismissal-phone-screen")
		w.shoot(t, ctx, "teacher-dismissal", "")
		noCSPViolations(t, ctx)
	})

	t.Run("admin_corrects_past_day", func(t *testing.T) {
		w.fakeNow.Store(nil)
		ctx := w.tab(t, "demo_school")
		w.at(start.AddDate(0, 0, 1).Add(-time.Duration(p.StartMin)*time.Minute + 9*time.Hour))
		phone(t, ctx)
		w.visit(t, ctx, fmt.Sprintf("#/roll/%d", p.ID))
		if !js[bool](t, ctx, `!!document.querySelector('.sticky-foot textarea.reason')`) {
			t.Fatal("no place to type the reason of a past day's correction")
		}
		child := js[string](t, ctx, `document.querySelector('ul.roll li.child').dataset.student`)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`ul.roll li.child[data-student="`+child+`"] button.mark.late`)),
			chromedp.Click(chromedp.CSS(`.sticky-foot button.btn`)),
			chromedp.WaitVisible(chromedp.CSS(`.sticky-foot .alert.error`))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`.sticky-foot textarea.reason`), "家长补交迟到说明"),
			chromedp.Click(chromedp.CSS(`.sticky-foot button.btn`)),
			chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`body[data-roll-saved="%d"]`, p.ID)))); err != nil {
			t.Fatal(err)
		}
		var changes struct {
			Items []struct {
				StudentID int64  `json:"student_id"`
				NewStatus string `json:"new_status"`
				Reason    string `json:"reason"`
			} `json:"items"`
		}
		w.onRealClock(func() {
			w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/sessions/%d/attendance/changes?limit=500", p.ID), &changes)
		})
		last := changes.Items[len(changes.Items)-1]
		if fmt.Sprint(last.StudentID) != child || last.NewStatus != "late" || last.Reason != "家长补交迟到说明" {
			t.Fatalf("last change %+v", last)
		}
		if err := settle(ctx); err != nil {
			t.Fatal(err)
		}
		w.shoot(t, ctx, "admin-roll-past-day", "")
	})
}

// within bounds a wait of the test to 30 s (the tab's own guard is minutes).
func within(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func jsID(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}
