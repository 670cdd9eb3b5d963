package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Helpers of the money pages' browser test (fees_browser_test.go).

// pageText is the innerText of the first element sel matches ("" when none).
func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText || ''`, sel)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// statJS is the expression reading the big figure labelled label.
func statJS(label string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('main .stat')].find((s) => s.querySelector('.stat-label').textContent === %q)?.querySelector('.stat-value').textContent || ''`, label)
}

// statValue reads the big figure labelled label.
func statValue(t *testing.T, ctx context.Context, label string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](statJS(label)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pickStatus picks an order status in the orders' filter.
func pickStatus(t *testing.T, ctx context.Context, status string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const s = document.querySelector('main .orders .filters select');
		s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`, status))); err != nil {
		t.Fatal(err)
	}
}

// closeModal closes every open dialog.
func closeModal(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.querySelectorAll('.modal-back').forEach((m) => m.remove()); return true; })()`)); err != nil {
		t.Fatal(err)
	}
}

// yuanText writes fen as the console does ("¥1,234.50").
func yuanText(fen int64) string { return fmt.Sprintf("¥%s.%02d", grouped(fen/100), fen%100) }

// yuanFen reads "¥1,234.50" back as fen.
func yuanFen(t *testing.T, s string) int64 {
	t.Helper()
	s = strings.NewReplacer("¥", "", ",", "").Replace(s)
	yuan, cents, _ := strings.Cut(s, ".")
	y, err1 := strconv.ParseInt(yuan, 10, 64)
	c, err2 := strconv.ParseInt(cents, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("not an amount: %q", s)
	}
	return y*100 + c
}
