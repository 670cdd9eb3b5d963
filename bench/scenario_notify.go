package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"kehou/models"
	"kehou/wechat/pay"
)

// The notify and notify+spread scenarios (past 450 lines: preparing the
// burst, sending it and checking the money are one scenario, read in order).

// The notify scenarios (docs/bench.md): WeChat Pay's payment notifications
// for every parent's order, delivered in one burst to
// POST /api/v1/pay/wechat/notify (notify), and the same burst while the
// spread rush runs (notify+spread). Before the burst, unmeasured, each
// parent takes a seat in a priced club (held for payment), asks kehou for
// the wx.requestPayment parameters (kehou makes the prepay at the fake
// WeChat Pay) and pays through the fake as the parent's WeChat would; the
// fake sends no notification then. The burst is the fake's notifications,
// built, encrypted and signed by the fake, sent by the bench over
// keep-alive connections; an answer WeChat Pay would retry (anything but
// 2xx) is sent again, after Retry-After when shed. Afterwards every
// payment the fake took must be in the ledger exactly once.

// notifyPath is where WeChat Pay posts notifications.
const notifyPath = "/api/v1/pay/wechat/notify"

// notifyRoute is the notify route as the server's histogram labels it.
var notifyRoute = routeKey{"POST", notifyPath}

// notice is one parent's order, paid at the fake, and its notification.
type notice struct {
	club       int64
	outTradeNo string
	req        loadRequest
}

// newPay makes a fresh fake WeChat Pay (a new merchant) for the next
// phase and points the server's environment at it: the phases' order ids
// start again after each reset, and so would their out_trade_nos, which
// the previous fake has already taken money for.
func (e *engine) newPay() error {
	if e.pay != nil {
		e.pay.Close()
	}
	p, err := startBenchPay(e.b.dir, e.appID)
	if err != nil {
		return err
	}
	e.pay, e.env = p, p.env
	return nil
}

// payClubsOn creates, once per engine, the priced clubs on the running
// server: a term of their own (a seat there does not count against the
// rush term's one club), ⌈students / MaxCapacity⌉ clubs of 300 yuan a term
// with a seat for every child sent to each.
func (e *engine) payClubsOn() error {
	if len(e.payClubs) > 0 {
		return nil
	}
	d, a := e.data, e.api
	var tp tokenPair
	if err := a.call("POST", "/api/v1/auth/login", "", staffIP(4),
		map[string]string{"username": d.SchoolAdminUser, "password": d.SchoolAdminPass}, &tp); err != nil {
		return err
	}
	d.SchoolAdminToken = tp.AccessToken
	today := time.Now().In(models.Zone)
	var idOnly struct {
		ID int64 `json:"id"`
	}
	if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/terms", d.SchoolID), d.SchoolAdminToken, staffIP(2),
		map[string]any{"name": "缴费学期" + e.suffix, "starts_on": today.AddDate(0, 0, -7).Format("2006-01-02"),
			"ends_on": today.AddDate(0, 4, 0).Format("2006-01-02"), "max_clubs": 1}, &idOnly); err != nil {
		return err
	}
	n := (len(d.Parents) + models.MaxCapacity - 1) / models.MaxCapacity
	now := time.Now()
	for c := 0; c < n; c++ {
		seats := min(models.MaxCapacity, len(d.Parents)-c*models.MaxCapacity)
		var off struct {
			ID int64 `json:"id"`
		}
		body := map[string]any{"term_id": idOnly.ID, "kind": "club", "name": fmt.Sprintf("收费社团%d", c), "category": "arts",
			"description": "压测缴费", "teacher": "李老师", "venue": "礼堂", "weekdays": []int{3},
			"start_time": "16:30", "end_time": "18:00", "capacity": seats, "grades": []int{1, 2, 3, 4, 5, 6},
			"fee_fen": 30000, "billing": "term", "mode": "fcfs", "waitlist": false,
			"enroll_opens_at":  now.Add(-time.Hour).Format(time.RFC3339),
			"enroll_closes_at": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
		if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", d.SchoolID), d.SchoolAdminToken, staffIP(2), body, &off); err != nil {
			return err
		}
		if err := a.call("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", off.ID), d.SchoolAdminToken, staffIP(2), nil, nil); err != nil {
			return err
		}
		e.payClubs = append(e.payClubs, off.ID)
	}
	return nil
}

// paidOrders has every parent take a seat in its priced club (parent i in
// club i / MaxCapacity), ask kehou for the payment parameters and pay them
// at the fake; it answers the notifications of those payments, in a
// shuffled order, ready to send.
func (e *engine) paidOrders(ctx context.Context) ([]notice, error) {
	if err := e.payClubsOn(); err != nil {
		return nil, err
	}
	d := e.data
	t0 := time.Now()
	out := make([]notice, len(d.Parents))
	err := forEachParallel(ctx, len(d.Parents), 32, func(i int) error {
		p := d.Parents[i]
		club := e.payClubs[i/models.MaxCapacity]
		var enr struct {
			Status  string `json:"status"`
			OrderID int64  `json:"order_id"`
		}
		if err := e.api.call("POST", "/api/v1/enrollments", p.Token, p.IP,
			map[string]any{"student_id": p.StudentID, "offering_id": club}, &enr, 201); err != nil {
			return err
		}
		if enr.Status != string(models.StatusPendingPayment) || enr.OrderID == 0 {
			return fmt.Errorf("bench: a seat in a priced club answered %q (order %d)", enr.Status, enr.OrderID)
		}
		var params struct {
			TimeStamp string `json:"timeStamp"`
			NonceStr  string `json:"nonceStr"`
			Package   string `json:"package"`
			SignType  string `json:"signType"`
			PaySign   string `json:"paySign"`
			AmountFen int64  `json:"amount_fen"`
		}
		if err := e.api.call("POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", enr.OrderID), p.Token, p.IP, nil, &params); err != nil {
			return err
		}
		if _, err := e.pay.fake.RequestPayment(pay.PayParams{TimeStamp: params.TimeStamp, NonceStr: params.NonceStr,
			Package: params.Package, SignType: params.SignType, PaySign: params.PaySign}); err != nil {
			return err
		}
		out[i] = notice{club: club, outTradeNo: models.OutTradeNo(enr.OrderID, params.AmountFen)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.signNotices(ctx, out); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(e.b.o.Seed), 25))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	e.b.logf("[%s] %d orders held, prepaid at the fake WeChat Pay, paid and their notifications signed in %v",
		e.name, len(out), time.Since(t0).Round(time.Millisecond))
	return out, nil
}

// signNotices (re)builds the notification of each notice: a new envelope,
// encrypted and signed now, as WeChat Pay sends each delivery.
func (e *engine) signNotices(ctx context.Context, ns []notice) error {
	return forEachParallel(ctx, len(ns), 4, func(i int) error {
		body, h, err := e.pay.fake.Notification(ns[i].outTradeNo)
		if err != nil {
			return err
		}
		r := loadRequest{Method: "POST", Path: notifyPath, Body: body, Tag: "notify"}
		for _, k := range []string{"Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Signature-Type"} {
			r.Header = append(r.Header, [2]string{k, h.Get(k)})
		}
		ns[i].req = r
		return nil
	})
}

// deliver sends every notice in one burst on conns connections (a shed one
// again after its Retry-After, as WeChat Pay retries), then once more each
// one not acknowledged with 2xx (WeChat Pay's retries, up to five rounds).
// It answers the burst's statistics and how many were sent again after it.
func (e *engine) deliver(ctx context.Context, lc *loadClient, ns []notice, conns int) (loadStats, int, error) {
	lc.retryShed = true
	defer func() { lc.retryShed = false }()
	st := closedLoop(ctx, lc, conns, 0, func(i int64) (loadRequest, bool) {
		if i >= int64(len(ns)) {
			return loadRequest{}, false
		}
		return ns[i].req, true
	})
	final := map[int64]int{}
	for _, s := range st.samples {
		final[s.i] = s.status // a retried notice's last answer comes last
	}
	var again []notice
	for i := range ns {
		if s := final[int64(i)]; s < 200 || s > 299 {
			again = append(again, ns[i])
		}
	}
	resent := len(again)
	for round := 0; len(again) > 0 && round < 5; round++ {
		if err := e.signNotices(ctx, again); err != nil {
			return st, resent, err
		}
		var left []notice
		for _, n := range again {
			status, _, _ := lc.do(n.req)
			if status < 200 || status > 299 {
				left = append(left, n)
			}
		}
		again = left
	}
	return st, resent, nil
}

// notifyFigures fills a scenario's figures of a burst.
func notifyFigures(r *scenarioResult, st loadStats, n, resent int) {
	acked := st.count(func(s sample) bool { return s.status >= 200 && s.status < 300 })
	r.Extra["notifications"] = float64(n)
	r.Extra["acknowledged_in_burst"] = float64(acked)
	r.Extra["sent_again_after_burst"] = float64(resent)
	r.Extra["notify_burst_seconds"] = st.Elapsed.Seconds()
	r.Extra["applied_per_sec"] = float64(acked) / st.Elapsed.Seconds()
	ok := st.filter(func(s sample) bool { return s.status >= 200 && s.status < 300 })
	r.Extra["notify_p50_ms"], r.Extra["notify_p99_ms"] = percentiles(ok)
	r.Extra["notify_shed"] = float64(st.count(func(s sample) bool { return isShed(s.status) }))
	r.Extra["notify_errors"] = float64(st.count(func(s sample) bool { return isError(s.status) }))
}

// notify: the fake's notifications of every parent's payment in one burst.
func (e *engine) notify(ctx context.Context) error {
	o := e.b.o
	if err := e.newPay(); err != nil {
		return err
	}
	defer func() { e.env = nil }()
	var ns []notice
	res, err := e.phaseAfter(ctx, "notify", o.NotifyConns, func() liveCounts { return e.paidSeats(ns) },
		func() (err error) { ns, err = e.paidOrders(ctx); return err },
		func(lc *loadClient) (*scenarioResult, error) {
			h0 := e.scrapeLatencyOrLog()
			st, resent, err := e.deliver(ctx, lc, ns, o.NotifyConns)
			if err != nil {
				return nil, err
			}
			h1 := e.scrapeLatencyOrLog()
			r := summarize(st)
			notifyFigures(r, st, len(ns), resent)
			if h0 != nil && h1 != nil {
				serverLatency(r, h0, h1, st)
			}
			r.Invariants, err = e.checkPayments(ctx, ns, r)
			return r, err
		})
	if err != nil {
		return err
	}
	e.b.rep.addBaseline(&baselineResult{Name: "notify/" + e.name, Conns: o.NotifyConns, Seconds: res.Extra["notify_burst_seconds"],
		Ops: len(ns), PerSec: res.Extra["applied_per_sec"], P50ms: res.Extra["notify_p50_ms"], P99ms: res.Extra["notify_p99_ms"]})
	e.notifyTargets("notify", res)
	rep := e.b.rep
	if e.name == "sqlite" {
		rep.atLeastValue(e.name, "notify", fmt.Sprintf("notifications applied/s (%d in one burst)", len(ns)), "/s", res.Extra["applied_per_sec"], 1000)
	} else {
		rep.informative(e.name, "notify", fmt.Sprintf("notifications applied/s (%d in one burst)", len(ns)), "/s", res.Extra["applied_per_sec"])
	}
	e.reportServerLatency("notify", "burst", res)
	return nil
}

// notifyTargets adds the rows every burst must meet: nothing lost, nothing
// doubled, no 5xx, every invariant.
func (e *engine) notifyTargets(scenario string, res *scenarioResult) {
	rep := e.b.rep
	rep.exactly(e.name, scenario, "payments lost (taken by WeChat Pay, not in the ledger)", "", res.Extra["payments_lost"], 0)
	rep.exactly(e.name, scenario, "payments doubled (in the ledger twice, or not taken)", "", res.Extra["payments_doubled"], 0)
	rep.exactly(e.name, scenario, "invariant violations (money and seats)", "", float64(failed(res.Invariants)), 0)
	rep.exactly(e.name, scenario, "5xx and transport errors of the notifications", "", res.Extra["notify_errors"], 0)
}

// paidSeats is what the burst must leave: every priced club's seats
// enrolled (paid).
func (e *engine) paidSeats(ns []notice) liveCounts {
	w := liveCounts{}
	for _, n := range ns {
		w.add(n.club, "enrolled", 1)
	}
	return w
}

// checkPayments compares the ledger with the fake's own record: every
// transaction the fake took is one WeChat payment row (none lost), no
// transaction is there twice or without the fake having taken it (none
// doubled), and every pay order is paid.
func (e *engine) checkPayments(ctx context.Context, ns []notice, r *scenarioResult) ([]invariantResult, error) {
	db, err := e.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	paid := e.pay.fake.Paid()
	var refs []string
	if err := db.Read(ctx).Raw("SELECT ref FROM fee_ledger WHERE kind = ? AND method = ?",
		models.LedgerPayment, models.PayMethodWeChat).Scan(&refs).Error; err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, tx := range paid {
		taken[tx] = true
	}
	seen := map[string]int{}
	doubled := 0
	for _, r := range refs {
		seen[r]++
		if seen[r] > 1 || !taken[r] {
			doubled++
		}
	}
	lost := 0
	for _, n := range ns {
		if tx, ok := paid[n.outTradeNo]; !ok || seen[tx] == 0 {
			lost++
		}
	}
	var open int64
	if err := db.Read(ctx).Raw("SELECT COUNT(*) FROM pay_orders WHERE state <> ?", models.PayOrderPaid).Scan(&open).Error; err != nil {
		return nil, err
	}
	r.Extra["payments_lost"], r.Extra["payments_doubled"] = float64(lost), float64(doubled)
	return []invariantResult{
		{Name: "every payment WeChat Pay took is in the ledger (none lost)", OK: lost == 0, Detail: countDetail(lost)},
		{Name: "no payment in the ledger twice or untaken (none doubled)", OK: doubled == 0, Detail: countDetail(doubled)},
		{Name: "every pay order paid", OK: open == 0, Detail: countDetail(int(open))},
	}, nil
}

func countDetail(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d", n)
}

// notifyWithRush: the burst of notify while the spread rush runs, each on
// connections of its own, started together. Both figures are reported
// beside what each did alone in this run: neither may starve the other.
func (e *engine) notifyWithRush(ctx context.Context) error {
	o, d := e.b.o, e.data
	if err := e.newPay(); err != nil {
		return err
	}
	defer func() { e.env = nil }()
	choice, order := spreadChoices(o.Seed, len(d.Parents), len(d.Clubs))
	var ns []notice
	var rush loadStats
	want := func() liveCounts {
		w := e.paidSeats(ns)
		demand := map[int64]int{}
		for _, s := range rush.samples {
			if s.status == 201 {
				demand[d.Clubs[choice[order[s.i]]]]++
			}
		}
		for id, n := range demand {
			w.add(id, "enrolled", min(n, o.Seats))
			if n > o.Seats {
				w.add(id, "waitlisted", n-o.Seats)
			}
		}
		return w
	}
	res, err := e.phaseAfter(ctx, "notify+spread", o.NotifyConns+o.RushConns, want,
		func() (err error) { ns, err = e.paidOrders(ctx); return err },
		func(lc *loadClient) (*scenarioResult, error) {
			// The parents open the offerings page first, as in spread.
			closedLoop(ctx, lc, o.RushConns, 0, func(i int64) (loadRequest, bool) {
				if i >= int64(len(d.Parents)) {
					return loadRequest{}, false
				}
				return e.browseRequest(d.Parents[i]), true
			})
			if err := e.signNotices(ctx, ns); err != nil { // fresh time stamps
				return nil, err
			}
			nlc := newLoadClient(e.srv.addr, o.NotifyConns, o.Timeout)
			defer nlc.close()
			h0 := e.scrapeLatencyOrLog()
			var wg sync.WaitGroup
			var burst loadStats
			var resent int
			var derr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				burst, resent, derr = e.deliver(ctx, nlc, ns, o.NotifyConns)
			}()
			lc.retryShed = true
			rush = closedLoop(ctx, lc, o.RushConns, 0, func(i int64) (loadRequest, bool) {
				if i >= int64(len(order)) {
					return loadRequest{}, false
				}
				p := order[i]
				return e.enrollRequest(d.Parents[p], d.Clubs[choice[p]], fmt.Sprintf("nspread-%s-%d-%d", e.suffix, e.starts, i), "enroll"), true
			})
			lc.retryShed = false
			wg.Wait()
			if derr != nil {
				return nil, derr
			}
			h1 := e.scrapeLatencyOrLog()
			r := summarize(rush)
			r.Extra["parent_p50_ms"], r.Extra["parent_p99_ms"] = perRequestPercentiles(rush.samples)
			notifyFigures(r, burst, len(ns), resent)
			for k, n := range burst.Counts {
				r.Counts["notify "+k] += n
			}
			both := loadStats{Elapsed: max(rush.Elapsed, burst.Elapsed), samples: append(append([]sample(nil), rush.samples...), burst.samples...)}
			if h0 != nil && h1 != nil {
				serverLatency(r, h0, h1, both)
			}
			var err error
			r.Invariants, err = e.checkPayments(ctx, ns, r)
			return r, err
		})
	if err != nil {
		return err
	}
	rep := e.b.rep
	e.notifyTargets("notify+spread", res)
	rep.exactly(e.name, "notify+spread", "5xx and transport errors of the enrollments", "", float64(res.Errors), 0)
	// Neither starves: each keeps at least a quarter of what it does alone.
	nb, sb := "notify/"+e.name, "spread/"+e.name
	if alone := rep.scenarioOf(e.name, "spread"); alone != nil && rep.baseline(sb) == 0 {
		rep.addBaseline(&baselineResult{Name: sb, Conns: alone.Conns, Seconds: alone.Seconds, Ops: alone.Accepted,
			PerSec: alone.AcceptedPerSec, P50ms: alone.P50ms, P99ms: alone.P99ms})
	}
	if rep.baseline(nb) > 0 {
		rep.atLeast(e.name, "notify+spread", "notifications applied/s beside the rush", "/s", res.Extra["applied_per_sec"], nb, 0.25)
	} else {
		rep.informative(e.name, "notify+spread", "notifications applied/s beside the rush", "/s", res.Extra["applied_per_sec"])
	}
	if rep.baseline(sb) > 0 {
		rep.atLeast(e.name, "notify+spread", "accepted enrollments/s beside the burst", "/s", res.AcceptedPerSec, sb, 0.25)
	} else {
		rep.informative(e.name, "notify+spread", "accepted enrollments/s beside the burst", "/s", res.AcceptedPerSec)
	}
	rep.informative(e.name, "notify+spread", "notifications p99 beside the rush", "ms", res.Extra["notify_p99_ms"])
	rep.informative(e.name, "notify+spread", "parent's wait p99 (first tap to final answer) beside the burst", "ms", res.Extra["parent_p99_ms"])
	e.reportServerLatency("notify+spread", "together", res)
	return nil
}
