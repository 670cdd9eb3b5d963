package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"kehou/models"
)

// TestConsoleFees drives the console's money pages in a real browser on
// the demo (a paying county, seed_fees.go): the bureau's finance figures
// match the API; the offering list shows each fee with its unit and the
// seats held for payment apart from the paid ones, within 1280 px; the
// reconciliation card says why it is empty, then lists each kind of
// difference (school and bureau); a school admin records a held seat's
// payment with the day it was paid and the figures follow; and refunds
// part of an order, the refusals shown beside the field they concern.
// Pages are captured at 1280 px and phone width (money-*.png).
func TestConsoleFees(t *testing.T) {
	w := newBrowserWorld(t)
	money := []viewport{{"desktop", 1280, 860, false}, {"phone", 390, 844, true}}
	desktop := func(t *testing.T, ctx context.Context) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)); err != nil {
			t.Fatal(err)
		}
	}
	var me struct {
		SchoolID int64 `json:"school_id"`
	}
	w.apiGet(t, "demo_school", "/api/v1/me", &me)
	type order struct {
		ID            int64  `json:"id"`
		StudentName   string `json:"student_name"`
		AmountFen     int64  `json:"amount_fen"`
		PaidFen       int64  `json:"paid_fen"`
		RefundableFen int64  `json:"refundable_fen"`
	}
	orders := func(t *testing.T, status string) []order {
		var page struct{ Items []order }
		w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/schools/%d/orders?status=%s", me.SchoolID, status), &page)
		return page.Items
	}

	t.Run("bureauFinance", func(t *testing.T) {
		ctx := w.tab(t, "demo_bureau")
		w.visit(t, ctx, "#/finance")
		var api struct {
			Totals struct {
				CollectedFen int64 `json:"collected_fen"`
			} `json:"totals"`
		}
		w.apiGet(t, "demo_bureau", "/api/v1/stats/finance", &api)
		text := pageText(t, ctx, "main")
		want := yuanText(api.Totals.CollectedFen)
		if api.Totals.CollectedFen == 0 || !strings.Contains(text, "实收") || !strings.Contains(text, want) {
			t.Fatalf("page lacks 实收 %s:\n%s", want, text)
		}
		noCSPViolations(t, ctx)
	})

	t.Run("offeringsShowFeeAndHeld", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		desktop(t, ctx)
		w.visit(t, ctx, "#/offerings")
		var terms struct {
			Items []struct {
				ID       int64  `json:"id"`
				StartsOn string `json:"starts_on"`
			}
		}
		w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/schools/%d/terms", me.SchoolID), &terms)
		latest := terms.Items[0]
		for _, tm := range terms.Items {
			if tm.StartsOn > latest.StartsOn {
				latest = tm
			}
		}
		var offs struct {
			Items []struct {
				Enrolled int  `json:"enrolled"`
				Held     *int `json:"held"`
			}
		}
		w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/schools/%d/offerings?term_id=%d", me.SchoolID, latest.ID), &offs)
		held, enrolled := 0, 0
		for _, o := range offs.Items {
			if o.Held == nil {
				t.Fatal("a school admin's offering list lacks held")
			}
			held, enrolled = held+*o.Held, enrolled+o.Enrolled
		}
		if held == 0 {
			t.Fatal("the demo holds no seat for payment: nothing to show apart")
		}
		if got := statValue(t, ctx, "待缴费"); got != strconv.Itoa(held) {
			t.Errorf("待缴费 shows %q, want %d", got, held)
		}
		if got := statValue(t, ctx, "已录取"); got != grouped(int64(enrolled-held)) {
			t.Errorf("已录取 shows %q, want %d (held seats not counted)", got, enrolled-held)
		}
		heads := pageText(t, ctx, "main table.data thead")
		for _, col := range []string{"收费", "已录取", "待缴费", "操作"} {
			if !strings.Contains(heads, col) {
				t.Errorf("the offering list lacks the column %s: %s", col, heads)
			}
		}
		if body := pageText(t, ctx, "main table.data tbody"); !strings.Contains(body, "/学期") && !strings.Contains(body, "/次") && !strings.Contains(body, "/月") {
			t.Errorf("no fee with its unit in the list:\n%s", body)
		}
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('main .table-scroll'); return s.scrollWidth <= s.clientWidth; })()`))
		if err != nil {
			t.Fatal(err)
		}
		if !fits {
			t.Error("the offering list is wider than the page at 1280 px")
		}
		w.shootAt(t, ctx, "money-offerings", "", money)
		noCSPViolations(t, ctx)
	})

	t.Run("reconciliation", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		desktop(t, ctx)
		w.visit(t, ctx, "#/finance")
		waitFor(t, ctx, `!!document.querySelector('main .reconcile .empty-state')`)
		var rec struct {
			WeChatPay bool `json:"wechat_pay"`
		}
		w.apiGet(t, "demo_school", "/api/v1/pay/reconciliation", &rec)
		empty := pageText(t, ctx, "main .reconcile .empty-state")
		if want := map[bool]string{false: "未开通微信支付", true: "还没有运行过"}[rec.WeChatPay]; !strings.Contains(empty, want) {
			t.Errorf("the empty reconciliation says %q, want it to say %s", empty, want)
		}
		w.shootAt(t, ctx, "money-reconcile-empty", "", money[:1])
		// One difference of each kind, on three of the school's orders.
		list := orders(t, "")
		if len(list) < 3 {
			t.Fatalf("the demo school has %d orders", len(list))
		}
		day := models.LocalDate(time.Now().AddDate(0, 0, -1))
		now := time.Now()
		var userID int64
		w.srv.db.R.Raw("SELECT id FROM users WHERE username = 'demo_school'").Scan(&userID)
		err := w.srv.db.Tx(context.Background(), func(tx *gorm.DB) error {
			for i, k := range []string{models.DiffMissingLocal, models.DiffAmount, models.DiffMissingRemote} {
				o := list[i]
				trade := models.OutTradeNo(o.ID, o.AmountFen)
				if err := tx.Exec(`INSERT INTO pay_orders (order_id, school_id, out_trade_no, amount_fen, payer_user_id, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, o.ID, me.SchoolID, trade, o.AmountFen, userID, now, now).Error; err != nil {
					return err
				}
				d := models.ReconcileDiff{BillDate: day, SchoolID: &me.SchoolID, Kind: k, OutTradeNo: trade, FoundAt: now}
				switch k {
				case models.DiffMissingLocal:
					d.RemoteFen = o.AmountFen
				case models.DiffAmount:
					d.LocalFen, d.RemoteFen = o.AmountFen, o.AmountFen+100
				default:
					d.LocalFen, d.OutRefundNo = 500, "KR0000000042"
				}
				if err := tx.Create(&d).Error; err != nil {
					return err
				}
			}
			return tx.Create(&models.JobRun{Name: "reconcile", Trigger: models.TriggerScheduled, Instance: "t", StartedAt: now,
				EndedAt: &now, Status: models.RunSucceeded}).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		w.visit(t, ctx, "#/overview")
		w.visit(t, ctx, "#/finance")
		waitFor(t, ctx, `document.querySelectorAll('main .reconcile table.data tbody tr').length === 3`)
		text := pageText(t, ctx, "main .reconcile")
		for _, want := range []string{"本地缺记录", "金额不一致", "微信账单缺记录", list[0].StudentName, day, "KR0000000042", "+¥1.00", "最近一次对账"} {
			if !strings.Contains(text, want) {
				t.Errorf("the reconciliation lacks %q:\n%s", want, text)
			}
		}
		w.shootAt(t, ctx, "money-school-finance", "", money)
		desktop(t, ctx)
		// A difference opens its order's ledger.
		err = chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`main .reconcile table.data tbody tr`)),
			chromedp.WaitVisible(chromedp.CSS(`.modal dl.info`)))
		if err != nil {
			t.Fatal(err)
		}
		if head := pageText(t, ctx, ".modal-head"); !strings.Contains(head, fmt.Sprintf("订单 %d", list[0].ID)) {
			t.Errorf("the dialog is %q, want order %d", head, list[0].ID)
		}
		closeModal(t, ctx)

		bctx := w.tab(t, "demo_bureau")
		desktop(t, bctx)
		w.visit(t, bctx, "#/finance")
		waitFor(t, bctx, `document.querySelectorAll('main .reconcile table.data tbody tr').length === 3`)
		btext := pageText(t, bctx, "main .reconcile")
		if strings.Contains(btext, list[0].StudentName) {
			t.Errorf("the bureau reads a child's name:\n%s", btext)
		}
		var school string
		w.srv.db.R.Raw("SELECT name FROM schools WHERE id = ?", me.SchoolID).Scan(&school)
		if !strings.Contains(pageText(t, bctx, "main .reconcile tbody"), school) {
			t.Errorf("the bureau's differences do not name the school %s:\n%s", school, btext)
		}
		w.shootAt(t, bctx, "money-bureau-finance", "", money)
		noCSPViolations(t, ctx)
		noCSPViolations(t, bctx)
	})

	t.Run("schoolRecordsAPayment", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		desktop(t, ctx)
		unpaid := orders(t, "unpaid")
		if len(unpaid) == 0 {
			t.Fatal("no unpaid holds in the demo")
		}
		// The demo's holds were made as it was seeded: date them two days
		// back, so a payment may be dated yesterday (never before its order).
		for _, u := range unpaid {
			if err := w.srv.db.W.Exec("UPDATE orders SET created_at = ? WHERE id = ?", time.Now().AddDate(0, 0, -2).UTC(), u.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		w.visit(t, ctx, "#/finance")
		// The 待缴 figure lists the unpaid orders.
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`main .stat.link`))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('main .orders tbody tr').length === %d`, len(unpaid)))
		owed, collected := yuanFen(t, statValue(t, ctx, "待缴")), yuanFen(t, statValue(t, ctx, "实收"))
		yesterday := models.LocalDate(time.Now().AddDate(0, 0, -1))
		// A day before the order: the picker starts at the order's day, and
		// the server refuses it beside the date, in words.
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`main .orders tbody tr button`)),
			chromedp.WaitVisible(chromedp.CSS(`.modal input[type=date]`)),
			chromedp.SetValue(chromedp.CSS(`.modal input[type=date]`), models.LocalDate(time.Now().AddDate(0, 0, -5))),
			chromedp.SendKeys(chromedp.CSS(`.modal input[name=ref]`), "BANK-20261205"),
		)
		if err != nil {
			t.Fatal(err)
		}
		if !eval[bool](t, ctx, `document.querySelector('.modal input[type=date]').validity.rangeUnderflow`) {
			t.Errorf("the date picker lets a day before the order (min %q) through", eval[string](t, ctx, `document.querySelector('.modal input[type=date]').min`))
		}
		eval[bool](t, ctx, `(document.querySelector('.modal input[type=date]').removeAttribute('min'), true)`)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.modal form button[type=submit]`))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `[...document.querySelectorAll('.modal .field-error')].some((e) => e.innerText.includes('不能早于订单创建时间'))`)
		w.shootAt(t, ctx, "money-payment-before-order", "", money)
		err = chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`.modal input[type=date]`), yesterday),
			chromedp.Click(chromedp.CSS(`.modal form button[type=submit]`)),
			chromedp.WaitNotPresent(chromedp.CSS(`.modal`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		o := unpaid[0]
		waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('main .orders tbody tr').length === %d`, len(unpaid)-1))
		// The cards follow without a reload.
		waitFor(t, ctx, fmt.Sprintf(`(%s) === %q`, statJS("待缴"), yuanText(owed-o.AmountFen)))
		if got := yuanFen(t, statValue(t, ctx, "实收")); got != collected+o.AmountFen {
			t.Errorf("实收 %d after the payment, want %d", got, collected+o.AmountFen)
		}
		var d struct {
			Status string
			Ledger []struct {
				Kind       string `json:"kind"`
				Ref        string `json:"ref"`
				OccurredAt string `json:"occurred_at"`
			}
		}
		w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/orders/%d", o.ID), &d)
		found := false
		for _, m := range d.Ledger {
			if m.Kind == "payment" && m.Ref == "BANK-20261205" {
				at, err := time.Parse(time.RFC3339, m.OccurredAt)
				if err != nil || models.LocalDate(at) != yesterday {
					t.Errorf("the payment is dated %s, want %s", m.OccurredAt, yesterday)
				}
				found = true
			}
		}
		if !found || d.Status != "paid" {
			t.Fatalf("order %d after the payment: %+v", o.ID, d)
		}
		noCSPViolations(t, ctx)
	})

	t.Run("schoolRefunds", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		desktop(t, ctx)
		w.visit(t, ctx, "#/finance")
		paid := orders(t, "paid")
		if len(paid) < 2 {
			t.Fatalf("the demo has %d paid orders, want 2", len(paid))
		}
		pickStatus(t, ctx, "paid")
		waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('main .orders tbody tr').length === %d`, len(paid)))
		o := paid[0]
		openRefund := func() {
			t.Helper()
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`main .orders tbody tr button.ghost`)),
				chromedp.WaitVisible(chromedp.CSS(`.modal input[name=amount_fen]`))); err != nil {
				t.Fatal(err)
			}
		}
		fieldError := func(i int) string {
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelectorAll('.modal .field-error')[%d].innerText`, i)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		submit := func(amount, reason string) {
			t.Helper()
			if err := chromedp.Do(ctx,
				chromedp.SetValue(chromedp.CSS(`.modal input[name=amount_fen]`), amount),
				chromedp.SetValue(chromedp.CSS(`.modal textarea[name=reason]`), reason),
				chromedp.Click(chromedp.CSS(`.modal form button[type=submit]`))); err != nil {
				t.Fatal(err)
			}
		}
		openRefund()
		t.Run("above refundable stays in the dialog", func(t *testing.T) {
			submit(fmt.Sprintf("%d.%02d", (o.RefundableFen+1)/100, (o.RefundableFen+1)%100), "多收")
			waitFor(t, ctx, `document.querySelectorAll('.modal .field-error')[0].innerText !== ''`)
			if s := fieldError(0); !strings.Contains(s, "超过可退金额") {
				t.Errorf("beside the amount: %q", s)
			}
			if got := orders(t, "paid")[0]; got.ID != o.ID || got.RefundableFen != o.RefundableFen {
				t.Errorf("a refusal moved money: %+v", got)
			}
		})
		t.Run("server refusal beside the reason", func(t *testing.T) {
			submit("1.00", "   ")
			waitFor(t, ctx, `document.querySelectorAll('.modal .field-error')[1].innerText !== ''`)
			if s := fieldError(1); !strings.Contains(s, "退费原因") {
				t.Errorf("beside the reason: %q", s)
			}
			if s := fieldError(0); s != "" {
				t.Errorf("the amount is blamed too: %q", s)
			}
		})
		t.Run("server refusal beside the amount", func(t *testing.T) {
			// Someone else refunds everything while the dialog is open.
			w.apiPost(t, w.login(t, "demo_school", demoPassword), fmt.Sprintf("/api/v1/orders/%d/refunds", o.ID),
				map[string]any{"amount_fen": o.RefundableFen, "reason": "全额退费"}, 200)
			submit("1.00", "少上一次课")
			waitFor(t, ctx, `document.querySelectorAll('.modal .field-error')[0].innerText !== ''`)
			if s := fieldError(0); !strings.Contains(s, "超过已缴未退") {
				t.Errorf("beside the amount: %q", s)
			}
			w.shootAt(t, ctx, "money-refund-refused", "", money[:1])
			closeModal(t, ctx)
		})
		t.Run("refund200 and the figures follow", func(t *testing.T) {
			w.visit(t, ctx, "#/overview")
			w.visit(t, ctx, "#/finance")
			pickStatus(t, ctx, "paid")
			waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('main .orders tbody tr').length === %d`, len(paid)-1))
			next := orders(t, "paid")[0]
			refunded := yuanFen(t, statValue(t, ctx, "退费"))
			openRefund()
			w.shootAt(t, ctx, "money-refund", "", money)
			desktop(t, ctx)
			submit("1.50", "停课一次，按次退还")
			if err := chromedp.Do(ctx, chromedp.WaitNotPresent(chromedp.CSS(`.modal`))); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, fmt.Sprintf(`(%s) === %q`, statJS("退费"), yuanText(refunded+150)))
			var d struct {
				RefundedFen int64 `json:"refunded_fen"`
				Status      string
			}
			w.apiGet(t, "demo_school", fmt.Sprintf("/api/v1/orders/%d", next.ID), &d)
			if d.RefundedFen != 150 || d.Status != "partially_refunded" {
				t.Fatalf("order %d after the refund: %+v", next.ID, d)
			}
		})
		noCSPViolations(t, ctx)
	})

	t.Run("orderList", func(t *testing.T) {
		ctx := w.tab(t, "demo_school")
		desktop(t, ctx)
		w.visit(t, ctx, "#/finance")
		all := orders(t, "")
		waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('main .orders tbody tr').length === %d`, len(all)))
		name := all[0].StudentName
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`main .orders input[type=search]`), name)); err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, o := range all {
			if strings.Contains(o.StudentName, name) {
				want++
			}
		}
		waitFor(t, ctx, fmt.Sprintf(`document.querySelectorAll('main .orders tbody tr').length === %d`, want))
		rows := pageText(t, ctx, "main .orders tbody")
		for _, o := range all {
			if !strings.Contains(o.StudentName, name) && strings.Contains(rows, o.StudentName) {
				t.Errorf("searching %s lists %s", name, o.StudentName)
			}
		}
		// A row opens the order's ledger.
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`main .orders tbody tr td`)), chromedp.WaitVisible(chromedp.CSS(`.modal table.data`))); err != nil {
			t.Fatal(err)
		}
		if l := pageText(t, ctx, ".modal"); !strings.Contains(l, "收费台账") || !strings.Contains(l, "应收") {
			t.Errorf("the order dialog:\n%s", l)
		}
		w.shootAt(t, ctx, "money-order", "", money)
		noCSPViolations(t, ctx)
	})
}
