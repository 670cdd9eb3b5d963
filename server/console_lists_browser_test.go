package main

import (
	"fmt"
	"testing"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
)

// TestConsoleWholeLists: lists come a page at a time (handlers.DefaultPageSize
// items unless asked otherwise), and the console's screens that show a
// whole list follow next_cursor to its end — a term with more offerings
// than a page shows every one — and open on the school's current term.
func TestConsoleWholeLists(t *testing.T) {
	w := newBrowserWorld(t)
	db := w.srv.db
	var school models.School
	if err := db.R.Raw("SELECT * FROM schools WHERE code = 'DEMO-S1'").Scan(&school).Error; err != nil {
		t.Fatal(err)
	}
	var admin models.User
	if err := db.R.Raw("SELECT * FROM users WHERE username = 'demo_school'").Scan(&admin).Error; err != nil {
		t.Fatal(err)
	}
	var terms []models.Term
	if err := db.R.Raw("SELECT * FROM terms WHERE school_id = ?", school.ID).Scan(&terms).Error; err != nil {
		t.Fatal(err)
	}
	cur := models.CurrentTermID(terms, models.LocalDate(w.srv.api.Now()))
	var term models.Term
	for _, x := range terms {
		if x.ID == cur {
			term = x
		}
	}
	if term.ID == 0 {
		t.Fatalf("the demo school has no current term among %d", len(terms))
	}
	for i := 0; i < handlers.DefaultPageSize; i++ {
		modelstest.Offering(t, db, admin, term, func(n *models.NewOffering) { n.Name = fmt.Sprintf("加开社团%03d", i) })
	}
	var total int64
	db.R.Raw("SELECT COUNT(*) FROM offerings WHERE term_id = ?", term.ID).Scan(&total)

	ctx := w.tab(t, "demo_school")
	w.visit(t, ctx, "#/offerings")
	want := fmt.Sprintf(`[...document.querySelectorAll('main .stat')].some((s) =>
		s.querySelector('.stat-label').innerText === '课程' && s.querySelector('.stat-value').innerText.replace(/[,，]/g, '') === '%d')`, total)
	waitFor(t, ctx, want)
	if picked := eval[string](t, ctx, `document.querySelector('main .page-head select').value`); picked != fmt.Sprint(term.ID) {
		t.Fatalf("the page opened on term %s, want the current term %d", picked, term.ID)
	}
}
