package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleStudentsSearchAndWaiver: 学生名单 searches on the server (a
// student beyond the first page of 500 is found by name), shows each
// student's 减免, and sets one through 设置 (PATCH /students/{id}); the
// import page lists the optional waiver columns; 请假申请 lists the whole
// school's requests. (The page filtered only
// the rows it had loaded and showed no waiver.)
func TestConsoleStudentsSearchAndWaiver(t *testing.T) {
	w := newBrowserWorld(t)
	ctx := w.tab(t, "demo_school")
	var st struct {
		ID        int64
		Name      string
		StudentNo string
	}
	w.srv.db.R.Raw(`SELECT s.id, s.name, s.student_no FROM students s JOIN schools sc ON sc.id = s.school_id
		WHERE sc.code = 'DEMO-S1' AND s.fee_waiver = 'none' ORDER BY s.id DESC LIMIT 1`).Scan(&st)
	if st.ID == 0 {
		t.Fatal("the demo school has no student")
	}
	w.visit(t, ctx, "#/students")
	waitFor(t, ctx, `[...document.querySelectorAll('main th')].some((th) => th.innerText.startsWith('减免'))`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`main input[name=q]`), st.StudentNo)); err != nil {
		t.Fatal(err)
	}
	// One row: the student (numbers are unique, and match from their start).
	one := fmt.Sprintf(`(() => { const rows = [...document.querySelectorAll('main table.data tbody tr')];
		return rows.length === 1 && rows[0].innerText.includes(%q); })()`, st.Name)
	waitFor(t, ctx, one)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`main table.data tbody .waiver button`), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `!!document.querySelector('.modal select[name=fee_waiver]')`)
	eval[bool](t, ctx, `(() => { const f = document.querySelector('.modal select[name=fee_waiver]'); f.value = 'half';
		f.dispatchEvent(new Event('change')); document.querySelector('.modal select[name=waiver_reason]').value = 'dibao'; return true; })()`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.modal form button[type=submit]`), chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `!document.querySelector('.modal') && document.querySelector('main table.data tbody .waiver').innerText.includes('减半（低保）')`)
	var waiver, reason string
	w.srv.db.R.Raw("SELECT fee_waiver FROM students WHERE id = ?", st.ID).Scan(&waiver)
	w.srv.db.R.Raw("SELECT waiver_reason FROM students WHERE id = ?", st.ID).Scan(&reason)
	if waiver != "half" || reason != "dibao" {
		t.Fatalf("stored waiver %s/%s, want half/dibao", waiver, reason)
	}
	w.shoot(t, ctx, "school-students-search-waiver", "")

	t.Run("noMatch", func(t *testing.T) {
		eval[bool](t, ctx, `(() => { const q = document.querySelector('main input[name=q]'); q.value = 'zz-不存在的学生';
			q.dispatchEvent(new Event('input')); return true; })()`)
		waitFor(t, ctx, `(document.querySelector('main table.data td.empty') || {}).innerText === '没有匹配的学生'`)
	})
	t.Run("importHelpListsWaiverColumns", func(t *testing.T) {
		w.visit(t, ctx, "#/import")
		waitFor(t, ctx, `[...document.querySelectorAll('main p')].some((p) => p.innerText.includes('减免（fee_waiver）') && p.innerText.includes('减免原因（waiver_reason）'))`)
		w.shoot(t, ctx, "school-import-help", "")
	})
	t.Run("schoolLeaves", func(t *testing.T) {
		var all int
		w.srv.db.R.Raw(`SELECT COUNT(*) FROM leave_requests l JOIN schools sc ON sc.id = l.school_id WHERE sc.code = 'DEMO-S1'`).Scan(&all)
		w.visit(t, ctx, "#/leave")
		waitFor(t, ctx, `!!document.querySelector('main .school-leaves table.data')`)
		// 全部 from no day: every request of the school (the demo has fewer than a page).
		eval[bool](t, ctx, `(() => { document.querySelector('main input[name=from]').value = '';
			const s = document.querySelector('main select[name=status]'); s.value = ''; s.dispatchEvent(new Event('change')); return true; })()`)
		rows := fmt.Sprintf(`document.querySelectorAll('main .school-leaves tbody tr:not(:has(td.empty))').length === %d`, all)
		waitFor(t, ctx, rows)
		w.shoot(t, ctx, "school-leave-list", "")
	})
	noCSPViolations(t, ctx)
}
