package pay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BillRow is one line of a trade bill: a payment (State StateSuccess) or a
// refund (State StateRefund, with OutRefundNo and RefundFen).
type BillRow struct {
	Time          time.Time
	TransactionID string
	OutTradeNo    string
	OpenID        string
	State         string
	AmountFen     int64 // 应结订单金额: what the payment settled
	RefundID      string
	OutRefundNo   string
	RefundFen     int64
	RefundStatus  string
}

// MaxBillBytes bounds a downloaded bill (a school's day is a few thousand
// lines; a county's a few hundred thousand).
const MaxBillBytes = 64 << 20

// TradeBill downloads the trade bill (bill_type ALL) of day (YYYY-MM-DD,
// Asia/Shanghai), checks its SHA1 against the one WeChat Pay announced and
// parses it. A day with no trades answers no rows.
func (c *Client) TradeBill(ctx context.Context, day string) ([]BillRow, error) {
	res, err := c.api.Get(ctx, DefaultAPIBase+"/v3/bill/tradebill?"+url.Values{"bill_date": {day}, "bill_type": {"ALL"}}.Encode())
	if err != nil {
		var e *Error
		if ae := apiError(err); asError(ae, &e) && e.Code == "NO_STATEMENT_EXIST" {
			return nil, nil
		}
		return nil, apiError(err)
	}
	defer res.Response.Body.Close()
	var meta struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Response.Body, 1<<16)).Decode(&meta); err != nil {
		return nil, fmt.Errorf("wechat pay: trade bill: %w", err)
	}
	if meta.HashType != "SHA1" || meta.DownloadURL == "" {
		return nil, fmt.Errorf("wechat pay: trade bill: unexpected hash type %q or no download URL", meta.HashType)
	}
	file, err := c.files.Get(ctx, meta.DownloadURL)
	if err != nil {
		return nil, apiError(err)
	}
	defer file.Response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(file.Response.Body, MaxBillBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wechat pay: trade bill: %w", err)
	}
	if len(body) > MaxBillBytes {
		return nil, fmt.Errorf("wechat pay: trade bill over %d bytes", MaxBillBytes)
	}
	sum := sha1.Sum(body)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), meta.HashValue) {
		return nil, fmt.Errorf("wechat pay: trade bill of %s: SHA1 differs from the announced one", day)
	}
	return ParseTradeBill(body)
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

// billColumns are the trade bill's columns kehou reads, by their header.
var billColumns = []string{"交易时间", "微信订单号", "商户订单号", "用户标识", "交易状态", "应结订单金额",
	"微信退款单号", "商户退款单号", "退款金额", "退款状态"}

// ParseTradeBill parses a trade bill file: a header line, one line per
// trade with every field behind a backquote, then two summary lines
// (总交易单数…). Amounts are yuan with two decimals; they become fen
// exactly, without floating point.
func ParseTradeBill(body []byte) ([]BillRow, error) {
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF"))))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		return nil, nil
	}
	header := strings.Split(strings.TrimSpace(sc.Text()), ",")
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, name := range billColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("wechat pay: trade bill has no column %s", name)
		}
	}
	var rows []BillRow
	for line := 2; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if !strings.HasPrefix(text, "`") {
			break // the summary lines
		}
		f := strings.Split(text, ",")
		if len(f) < len(header) {
			return nil, fmt.Errorf("wechat pay: trade bill line %d has %d fields, not %d", line, len(f), len(header))
		}
		get := func(name string) string { return strings.TrimPrefix(strings.TrimSpace(f[col[name]]), "`") }
		var r BillRow
		var err error
		if r.Time, err = time.ParseInLocation(time.DateTime, get("交易时间"), shanghai); err != nil {
			return nil, fmt.Errorf("wechat pay: trade bill line %d: time: %w", line, err)
		}
		r.TransactionID, r.OutTradeNo, r.OpenID, r.State = get("微信订单号"), get("商户订单号"), get("用户标识"), get("交易状态")
		r.RefundID, r.OutRefundNo, r.RefundStatus = get("微信退款单号"), get("商户退款单号"), get("退款状态")
		if r.RefundID == "0" {
			r.RefundID = ""
		}
		if r.OutRefundNo == "0" {
			r.OutRefundNo = ""
		}
		if r.AmountFen, err = YuanToFen(get("应结订单金额")); err != nil {
			return nil, fmt.Errorf("wechat pay: trade bill line %d: %w", line, err)
		}
		if r.RefundFen, err = YuanToFen(get("退款金额")); err != nil {
			return nil, fmt.Errorf("wechat pay: trade bill line %d: %w", line, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

var shanghai = time.FixedZone("CST", 8*3600)

// YuanToFen converts "12.30" (yuan, at most two decimals) to 1230 fen.
func YuanToFen(s string) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("amount %q is not yuan with two decimals", s)
	}
	frac = (frac + "00")[:2]
	y, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || y < 0 || y > 1e12 {
		return 0, fmt.Errorf("amount %q is not yuan with two decimals", s)
	}
	v := y*100 + f
	if neg {
		v = -v
	}
	return v, nil
}

// FenToYuan formats fen as yuan with two decimals ("12.30").
func FenToYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
