package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleOneDialogAtATime: 退费 opened from an order's ledger takes the
// ledger's place (one dialog on screen, not two stacked); closing it
// shows the ledger again, and a refund made there shows the order again
// with the refund in its ledger. (The refund dialog stacked over the
// ledger's.)
func TestConsoleOneDialogAtATime(t *testing.T) {
	w := newBrowserWorld(t)
	ctx := w.tab(t, "demo_school")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)); err != nil {
		t.Fatal(err)
	}
	w.visit(t, ctx, "#/finance")
	pickStatus(t, ctx, "paid")
	waitFor(t, ctx, `document.querySelectorAll('main .orders tbody tr button.ghost').length > 0`)
	const shown = `[...document.querySelectorAll('.modal-back')].filter((m) => !m.hidden)`
	// The row opens the order's ledger.
	eval[bool](t, ctx, `(document.querySelector('main .orders tbody tr td').click(), true)`)
	waitFor(t, ctx, `[...document.querySelectorAll('.modal .form-actions button')].some((b) => b.innerText === '退费')`)
	eval[bool](t, ctx, `([...document.querySelectorAll('.modal .form-actions button')].find((b) => b.innerText === '退费').click(), true)`)
	waitFor(t, ctx, `!!document.querySelector('.modal input[name=amount_fen]')`)
	if n := eval[int](t, ctx, shown+`.length`); n != 1 {
		t.Fatalf("%d dialogs on screen, want the refund's alone", n)
	}
	w.shoot(t, ctx, "money-refund-over-ledger", "")
	t.Run("closeReturnsToLedger", func(t *testing.T) {
		eval[bool](t, ctx, shown+`[0].querySelector('.modal-head button').click() || true`)
		waitFor(t, ctx, shown+`.length === 1 && !!`+shown+`[0].querySelector('h3.sub')`)
	})
	t.Run("refundShowsTheOrderAgain", func(t *testing.T) {
		eval[bool](t, ctx, `([...document.querySelectorAll('.modal-back:not([hidden]) .form-actions button')].find((b) => b.innerText === '退费').click(), true)`)
		waitFor(t, ctx, `!!document.querySelector('.modal-back:not([hidden]) input[name=amount_fen]')`)
		eval[bool](t, ctx, `(() => { const m = document.querySelector('.modal-back:not([hidden])');
			m.querySelector('input[name=amount_fen]').value = '0.10'; m.querySelector('textarea[name=reason]').value = '测试退费';
			m.querySelector('form button[type=submit]').click(); return true; })()`)
		waitFor(t, ctx, shown+`.length === 1 && [...`+shown+`[0].querySelectorAll('td')].some((td) => td.innerText === '测试退费')`)
		if n := eval[int](t, ctx, `document.querySelectorAll('.modal-back').length`); n != 1 {
			t.Fatalf("%d dialogs left in the page, want the order's alone", n)
		}
	})
	noCSPViolations(t, ctx)
}
