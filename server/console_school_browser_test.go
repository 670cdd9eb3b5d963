package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kehou/models"
)

// waitFor polls a JavaScript condition on the page.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", cond, err)
	}
}

// eval runs JavaScript on the page and answers its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// TestConsoleSchoolTools: the school secretary's tools the API had and the
// console lacked — the calendar editor (a no-service day, shown before it
// is saved, cancels that day's sessions), the staff page (an account made
// with its display name; a refused password named in Chinese), the
// teacher picker of the offering form, an offering's sessions with the
// cancel button and the monthly sheet, the leave and deletion pages.
func TestConsoleSchoolTools(t *testing.T) {
	w := newBrowserWorld(t)
	ctx := w.tab(t, "demo_school")
	var schoolID int64
	w.srv.db.R.Raw("SELECT id FROM schools WHERE code = 'DEMO-S1'").Scan(&schoolID)
	// window.confirm answers yes (the dialogs are the browser's own).
	eval[bool](t, ctx, `(window.confirm = () => true, true)`)

	t.Run("calendarEditor", func(t *testing.T) {
		w.visit(t, ctx, "#/terms")
		// The first school day after today with a session in it.
		tomorrow := models.LocalDate(time.Now().AddDate(0, 0, 1))
		var day string
		w.srv.db.R.Raw(`SELECT MIN(s.session_date) FROM sessions s WHERE s.school_id = ? AND s.session_date >= ? AND s.status = 'scheduled'
			AND EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = s.offering_id AND e.status = 'enrolled')`, schoolID, tomorrow).Scan(&day)
		if day == "" {
			t.Skip("the demo term has no session ahead (summer)")
		}
		sel := fmt.Sprintf(`button.day[data-date="%s"]`, day)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
		waitFor(t, ctx, `!!document.querySelector('.cal-changes .alert.warn')`)
		if msg := eval[string](t, ctx, `document.querySelector('.cal-changes').innerText`); !strings.Contains(msg, "新增停课日") {
			t.Fatalf("pending change shown as %q", msg)
		}
		w.shoot(t, ctx, "school-calendar-editor", "")
		// The shot's route-less capture kept the page: save now.
		eval[bool](t, ctx, `(window.confirm = () => true, true)`)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.cal-editor .form-actions .btn:not(.ghost)`), chromedp.NodeVisible)); err != nil {
			t.Fatal(err)
		}
		var ns string
		for i := 0; i < 100; i++ {
			w.srv.db.R.Raw("SELECT t.no_service_days FROM terms t JOIN sessions s ON s.term_id = t.id WHERE s.school_id = ? AND s.session_date = ? LIMIT 1", schoolID, day).Scan(&ns)
			if strings.Contains(ns, day) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(ns, day) {
			t.Fatalf("no_service_days %s lacks %s", ns, day)
		}
		var scheduled, notes int64
		w.srv.db.R.Raw("SELECT COUNT(*) FROM sessions WHERE school_id = ? AND session_date = ? AND status = 'scheduled'", schoolID, day).Scan(&scheduled)
		w.srv.db.R.Raw("SELECT COUNT(*) FROM outbox WHERE kind = ?", models.NotifySessionCancelled).Scan(&notes)
		if scheduled != 0 || notes == 0 {
			t.Fatalf("after saving: %d sessions still scheduled on %s, %d CANCELLED messages", scheduled, day, notes)
		}
		w.visit(t, ctx, "#/terms")
		if !eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('%s').classList.contains('off')`, sel)) {
			t.Fatal("the saved no-service day is not shown as one")
		}
	})

	t.Run("staffPage", func(t *testing.T) {
		w.visit(t, ctx, "#/staff")
		fillForm := func(name, user, pass string) {
			t.Helper()
			js := fmt.Sprintf(`(() => { const f = document.querySelector('main form'); const i = f.querySelectorAll('input');
				i[0].value = %q; i[1].value = %q; i[2].value = %q; f.querySelector('select').value = 'teacher';
				f.requestSubmit(); return true; })()`, name, user, pass)
			eval[bool](t, ctx, js)
		}
		// A password without digits: the server refuses it, the box names
		// the field in Chinese, without the raw key or a request id.
		fillForm("赵老师", "zhao_e2e", "onlyletters")
		waitFor(t, ctx, `!!document.querySelector('main form .alert.error')`)
		box := eval[string](t, ctx, `document.querySelector('main form .alert.error').innerText`)
		if !strings.Contains(box, "密码：") || strings.Contains(box, "password") {
			t.Fatalf("error box %q: want the field named 密码", box)
		}
		fillForm("赵老师", "zhao_e2e", "Zhao2026ok")
		waitFor(t, ctx, `[...document.querySelectorAll('main table td')].some((td) => td.innerText === '赵老师')`)
		var stored string
		w.srv.db.R.Raw("SELECT display_name FROM users WHERE username = 'zhao_e2e'").Scan(&stored)
		if stored != "赵老师" {
			t.Fatalf("display_name stored %q", stored)
		}
		w.shoot(t, ctx, "school-staff", "#/staff")
	})

	t.Run("offeringTeacherAndSessions", func(t *testing.T) {
		var oid int64
		w.srv.db.R.Raw(`SELECT o.id FROM offerings o WHERE o.school_id = ? AND o.kind = 'club' AND o.status = 'published'
			ORDER BY o.enrolled_count DESC LIMIT 1`, schoolID).Scan(&oid)
		w.visit(t, ctx, fmt.Sprintf("#/offering/%d", oid))
		waitFor(t, ctx, `[...document.querySelectorAll('main h2')].some((x) => x.innerText === '上课安排')`)
		if !eval[bool](t, ctx, `[...document.querySelectorAll('main button')].some((b) => b.innerText === '导出本月考勤表')`) {
			t.Fatal("no monthly sheet button")
		}
		// The month picker offers the term's months, first to last.
		var term struct{ StartsOn, EndsOn string }
		w.srv.db.R.Raw("SELECT t.starts_on, t.ends_on FROM terms t JOIN offerings o ON o.term_id = t.id WHERE o.id = ?", oid).Scan(&term)
		months := eval[[]string](t, ctx, `(() => {
			const s = [...document.querySelectorAll('main .toolbar select')].find((x) => /^\d{4}-\d{2}$/.test(x.options[0]?.value || ''));
			return s ? [...s.options].map((o) => o.value) : []; })()`)
		if len(months) == 0 || len(term.StartsOn) < 7 || months[0] != term.StartsOn[:7] || months[len(months)-1] != term.EndsOn[:7] {
			t.Fatalf("the month picker offers %q for a term %s to %s", months, term.StartsOn, term.EndsOn)
		}
		eval[bool](t, ctx, `([...document.querySelectorAll('main .page-head button')].find((b) => b.innerText === '编辑').click(), true)`)
		waitFor(t, ctx, `!!document.querySelector('.modal select option')`)
		opts := eval[[]string](t, ctx, `[...document.querySelectorAll('.modal label')].filter((l) => l.innerText.startsWith('点名教师'))
			.flatMap((l) => [...l.querySelectorAll('option')].map((o) => o.innerText))`)
		if len(opts) < 2 {
			t.Fatalf("teacher picker options %q", opts)
		}
		eval[bool](t, ctx, `(document.querySelector('.modal-back').remove(), true)`)

		// 停课 on the next session: a reason, then the session is cancelled.
		waitFor(t, ctx, `[...document.querySelectorAll('main button')].some((b) => b.innerText === '停课')`)
		eval[bool](t, ctx, `([...document.querySelectorAll('main button')].find((b) => b.innerText === '停课').click(), true)`)
		waitFor(t, ctx, `!!document.querySelector('.modal input')`)
		eval[bool](t, ctx, `(document.querySelector('.modal input').value = '期末考试', document.querySelector('.modal form').requestSubmit(), true)`)
		waitFor(t, ctx, `[...document.querySelectorAll('main .tag')].some((x) => x.innerText === '停课：期末考试')`)
		var n int64
		w.srv.db.R.Raw("SELECT COUNT(*) FROM sessions WHERE offering_id = ? AND status = 'cancelled' AND cancel_reason = '期末考试'", oid).Scan(&n)
		if n != 1 {
			t.Fatalf("%d sessions cancelled from the console, want 1", n)
		}
	})

	t.Run("bureauRatesWithoutData", func(t *testing.T) {
		b := w.tab(t, "demo_bureau")
		w.visit(t, b, "#/schools")
		heads := eval[string](t, b, `document.querySelector('main thead').innerText`)
		if !strings.Contains(heads, "五天全覆盖") || !strings.Contains(heads, "教师参与率") {
			t.Fatalf("school table columns %q", heads)
		}
		// Schools without a teacher account have no teacher participation:
		// "—", not 0.0%.
		if !eval[bool](t, b, `[...document.querySelectorAll('main tbody td')].some((td) => td.innerText === '—')`) {
			t.Fatal("no \"—\" in the school table")
		}
		w.visit(t, b, "#/trends")
		labels := eval[string](t, b, `document.querySelector('main .checks').innerText`)
		if !strings.Contains(labels, "五天全覆盖率") || !strings.Contains(labels, "教师参与率") {
			t.Fatalf("trend metrics %q", labels)
		}
	})

	t.Run("enrolledConflictsConfirmed", func(t *testing.T) {
		// A published club with children in it moves to grade 9 only:
		// every child breaks the grade rule. The form lists them; the
		// confirm button sends the change again with force.
		var oid, enrolled int64
		// Only families with a linked parent can be told: take a club
		// whose every child has one (the demo leaves a few unlinked, and
		// which club that hits depends on the seeding day), the smallest
		// first, ties by id so the choice does not depend on the engine.
		w.srv.db.R.Raw(`SELECT o.id FROM offerings o WHERE o.school_id = ? AND o.kind = 'club' AND o.status = 'published'
			AND o.enrolled_count > 0
			AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.offering_id = o.id
				AND e.status IN ('enrolled', 'pending_payment', 'waitlisted', 'applied')
				AND NOT EXISTS (SELECT 1 FROM parent_students ps WHERE ps.student_id = e.student_id))
			ORDER BY o.enrolled_count ASC, o.id ASC LIMIT 1`, schoolID).Scan(&oid)
		if oid == 0 {
			t.Fatal("the demo has no published club whose every child has a linked parent")
		}
		w.srv.db.R.Raw("SELECT enrolled_count FROM offerings WHERE id = ?", oid).Scan(&enrolled)
		w.visit(t, ctx, fmt.Sprintf("#/offering/%d", oid))
		eval[bool](t, ctx, `([...document.querySelectorAll('main .page-head button')].find((b) => b.innerText === '编辑').click(), true)`)
		waitFor(t, ctx, `!!document.querySelector('.modal form')`)
		eval[bool](t, ctx, `(() => { const l = [...document.querySelectorAll('.modal label')].find((x) => x.innerText.startsWith('适用年级'));
			l.querySelectorAll('input[type=checkbox]').forEach((c) => { c.checked = c.value === '9'; });
			document.querySelector('.modal form').requestSubmit(); return true; })()`)
		waitFor(t, ctx, `!!document.querySelector('.modal .alert.warn')`)
		listed := eval[int](t, ctx, `document.querySelectorAll('.modal .alert.warn li').length`)
		if int64(listed) != enrolled {
			t.Fatalf("%d students listed, want the %d enrolled", listed, enrolled)
		}
		if text := eval[string](t, ctx, `document.querySelector('.modal .alert.warn').innerText`); !strings.Contains(text, "年级不再符合") {
			t.Fatalf("conflicts shown as %q", text)
		}
		eval[bool](t, ctx, `([...document.querySelectorAll('.modal button')].find((b) => b.innerText === '确认修改并通知家长').click(), true)`)
		waitFor(t, ctx, `!document.querySelector('.modal')`)
		var grades string
		var told int64
		w.srv.db.R.Raw("SELECT grades FROM offerings WHERE id = ?", oid).Scan(&grades)
		w.srv.db.R.Raw("SELECT COUNT(DISTINCT student_id) FROM outbox WHERE kind = ? AND payload LIKE ?", models.NotifyOfferingChanged,
			fmt.Sprintf(`%%"offering_id":"%d"%%`, oid)).Scan(&told)
		if told != enrolled {
			t.Fatalf("grades %s, %d children's families told, want %d", grades, told, enrolled)
		}
	})

	t.Run("leaveAndDeletionPages", func(t *testing.T) {
		w.visit(t, ctx, "#/leave")
		w.visit(t, ctx, "#/deletions")
		if n := eval[int](t, ctx, `document.querySelectorAll('main .alert.error').length`); n != 0 {
			t.Fatalf("%d error boxes on the deletion page", n)
		}
		noCSPViolations(t, ctx)
	})
}
