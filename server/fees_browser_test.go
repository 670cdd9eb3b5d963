package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleFees drives the console's money pages in a real browser on
// the demo (a paying county, seed_fees.go): the bureau's finance figures
// match the API, and a school admin records a held seat's payment, which
// leaves the list of unpaid holds.
func TestConsoleFees(t *testing.T) {
	w := newBrowserWorld(t)
	t.Run("bureauFinance", func(t *testing.T) {
		ctx := w.tab(t, "demo_bureau")
		w.visit(t, ctx, "#/finance")
		var api struct {
			Totals struct {
				CollectedFen int64 `json:"collected_fen"`
			} `json:"totals"`
		}
		w.apiGet(t, "demo_bureau", "/api/v1/stats/finance", &api)
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("¥%s.%02d", grouped(api.Totals.CollectedFen/100), api.Totals.CollectedFen%100)
		if api.Totals.CollectedFen == 0 || !strings.Contains(text, "实收") || !strings.Contains(text, want) {
			t.Fatalf("page lacks 实收 %s:\n%s", want, text)
		}
		w.shoot(t, ctx, "bureau-finance", "#/finance")
		noCSPViolations(t, ctx)
	})
	t.Run("schoolRecordsAPayment", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		w.visit(t, ctx, "#/finance")
		rows := func() int {
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('main table.data tbody tr')].filter(r => !r.querySelector('.empty')).length`))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := rows()
		if before == 0 {
			t.Fatal("no unpaid holds listed")
		}
		w.shoot(t, ctx, "school-finance", "")
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`main table.data tbody tr button`)),
			chromedp.WaitVisible(chromedp.CSS(`.modal form input`)),
			chromedp.SendKeys(chromedp.CSS(`.modal form input`), "BANK-20261206"),
			chromedp.Click(chromedp.CSS(`.modal form button[type=submit]`)),
			chromedp.WaitNotPresent(chromedp.CSS(`.modal`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`[...document.querySelectorAll('main table.data tbody tr')].filter(r => !r.querySelector('.empty')).length === %d`, before-1))); err != nil {
			t.Fatalf("the paid hold is still listed: %v", err)
		}
		noCSPViolations(t, ctx)
	})
}
