package pay

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The fake WeChat Pay's trade bill: /v3/bill/tradebill announces a day's
// bill (its SHA1 and a download URL), /v3/billdownload/file serves it, in
// WeChat Pay's CSV format; EditBill lets a test make it differ from the
// ledger.

// BillURLLifetime is how long a bill's download_url works (WeChat Pay:
// 30 seconds); the fake keeps each announced file that long.
const BillURLLifetime = 30 * time.Second

// fakeBill is a trade bill as announced: WeChat Pay generates the file
// once, and its download is that file until the URL expires.
type fakeBill struct {
	file    []byte
	expires time.Time
}

func (f *Fake) tradeBill(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.verify(w, r); !ok || f.injected(w, EndpointBill) {
		return
	}
	day := r.URL.Query().Get("bill_date")
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		f.writeErr(w, "PARAM_ERROR", "bill_date 格式错误")
		return
	}
	file := f.billBytes(day)
	token := nonce()
	now := f.now()
	f.mu.Lock()
	for t, b := range f.bills {
		if now.After(b.expires) {
			delete(f.bills, t)
		}
	}
	// The file downloaded is the one whose hash is announced.
	f.bills[token] = fakeBill{file: file, expires: now.Add(BillURLLifetime)}
	f.mu.Unlock()
	sum := sha1.Sum(file)
	f.writeJSON(w, http.StatusOK, map[string]string{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]),
		"download_url": DefaultAPIBase + "/v3/billdownload/file?token=" + token})
}

func (f *Fake) billFile(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.verify(w, r); !ok {
		return
	}
	f.mu.Lock()
	b, ok := f.bills[r.URL.Query().Get("token")]
	f.mu.Unlock()
	if !ok || f.now().After(b.expires) {
		f.writeErr(w, "PARAM_ERROR", "token 无效或已过期")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(b.file)
}

// EditBill changes what the trade bill of day says (to test
// reconciliation): edit gets the rows WeChat Pay would list and answers
// the rows to list.
func (f *Fake) EditBill(day string, edit func([]BillRow) []BillRow) {
	f.mu.Lock()
	f.billEdit[day] = edit
	f.mu.Unlock()
}

// BillRows are the trade bill rows of day (Asia/Shanghai): every payment
// made and every refund that succeeded that day.
func (f *Fake) BillRows(day string) []BillRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rows []BillRow
	for _, o := range f.orders {
		if !o.paidAt.IsZero() && o.paidAt.In(shanghai).Format(time.DateOnly) == day {
			rows = append(rows, BillRow{Time: o.paidAt.In(shanghai), TransactionID: o.transactionID, OutTradeNo: o.outTradeNo,
				OpenID: o.openID, State: StateSuccess, AmountFen: o.amount})
		}
	}
	for _, rf := range f.refunds {
		if rf.status == RefundSuccess && rf.succeeded.In(shanghai).Format(time.DateOnly) == day {
			o := f.orders[rf.outTradeNo]
			rows = append(rows, BillRow{Time: rf.succeeded.In(shanghai), TransactionID: o.transactionID, OutTradeNo: o.outTradeNo,
				OpenID: o.openID, State: StateRefund, RefundID: rf.refundID, OutRefundNo: rf.outRefundNo,
				RefundFen: rf.amount, RefundStatus: RefundSuccess})
		}
	}
	slices.SortFunc(rows, func(a, b BillRow) int { // by time; the same instant by ids, so a bill reads the same twice
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.OutTradeNo, b.OutTradeNo), strings.Compare(a.OutRefundNo, b.OutRefundNo))
	})
	if edit := f.billEdit[day]; edit != nil {
		rows = edit(rows)
	}
	return rows
}

// billBytes renders the trade bill of day in WeChat Pay's format.
func (f *Fake) billBytes(day string) []byte {
	rows := f.BillRows(day)
	var b strings.Builder
	b.WriteString("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
		"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
		"订单金额,申请退款金额,费率备注\r\n")
	var paid, refunded int64
	for _, r := range rows {
		refundID, outRefund, refundStatus := "0", "0", ""
		amount := r.AmountFen
		if r.State == StateRefund {
			refundID, outRefund, refundStatus, amount = r.RefundID, r.OutRefundNo, r.RefundStatus, 0
		}
		paid += amount
		refunded += r.RefundFen
		fields := []string{r.Time.Format(time.DateTime), f.AppID, f.MchID, "0", "", r.TransactionID, r.OutTradeNo, r.OpenID,
			"JSAPI", r.State, "OTHERS", "CNY", FenToYuan(amount), "0.00", refundID, outRefund, FenToYuan(r.RefundFen), "0.00",
			"ORIGINAL", refundStatus, "课后服务", "", "0.00000", "0.60%", FenToYuan(amount), FenToYuan(r.RefundFen), ""}
		b.WriteString("`" + strings.Join(fields, ",`") + "\r\n")
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`0.00,`0.00000,`%s,`%s\r\n", len(rows), FenToYuan(paid), FenToYuan(refunded),
		FenToYuan(paid), FenToYuan(refunded))
	return []byte(b.String())
}
