package handlers

import (
	"context"
	"errors"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"kehou/models"
	"kehou/wechat/pay"
)

// WeChatPayDTO is what POST /api/v1/orders/{id}/wechat-pay answers: the
// parameters the mini-program passes to wx.requestPayment as they are,
// beside the order, the amount and until when it can be paid.
type WeChatPayDTO struct {
	pay.PayParams
	OrderID   int64  `json:"order_id"`
	AmountFen int64  `json:"amount_fen"`
	ExpiresAt string `json:"expires_at"`
}

// errPayUpstream is WeChat Pay failing in a way that may pass.
var errPayUpstream = &models.Error{Kind: models.KindUnavailable, Code: "payment_unavailable",
	Message: "微信支付暂时不可用，请稍后再试", RetryAfter: 5}

// WeChatPay is POST /api/v1/orders/{id}/wechat-pay (the guardian): makes
// (or finds again) the order's prepay at WeChat Pay and signs the
// wx.requestPayment parameters. Asking again while the prepay is payable
// signs the same prepay; WeChat Pay is never called inside a transaction.
func (h *API) WeChatPay(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	start, err := models.StartWeChatPay(ctx, h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	if h.Pay == nil {
		return models.ErrPayUnavailable
	}
	if start.Stale != "" { // the amount changed: the old order must not stay payable
		if err := h.Pay.Close(ctx, start.Stale); errors.Is(err, pay.ErrOrderPaid) {
			return h.paidMeanwhile(ctx, start.Stale)
		} else if err != nil && !errors.Is(err, pay.ErrOrderClosed) && !errors.Is(err, pay.ErrOrderNotExist) {
			return h.payFailed(ctx, "close", err)
		}
		if err := models.ClosePayOrder(ctx, h.DB, start.OrderID, start.Stale); err != nil {
			return err
		}
	}
	prepay := start.PrepayID
	if prepay == "" {
		prepay, err = h.Pay.Prepay(ctx, pay.PrepayIn{OutTradeNo: start.OutTradeNo, Description: start.Description,
			AmountFen: start.AmountFen, OpenID: start.OpenID, ExpiresAt: start.ExpiresAt, Attach: "order:" + strconv.FormatInt(start.OrderID, 10)})
		switch {
		case errors.Is(err, pay.ErrOrderPaid):
			return h.paidMeanwhile(ctx, start.OutTradeNo)
		case errors.Is(err, pay.ErrOrderClosed):
			return models.ErrHoldExpired
		case err != nil:
			return h.payFailed(ctx, "prepay", err)
		}
		if err := models.SavePrepay(ctx, h.DB, start, prepay, start.PrepayUntil); err != nil {
			return err
		}
	}
	p, err := h.Pay.SignPayment(ctx, prepay, h.now())
	if err != nil {
		return err
	}
	return c.JSON(WeChatPayDTO{PayParams: p, OrderID: start.OrderID, AmountFen: start.AmountFen, ExpiresAt: rfc3339(start.ExpiresAt)})
}

// paidMeanwhile applies a payment WeChat Pay says was made (its
// notification not here yet) and answers that nothing is owed.
func (h *API) paidMeanwhile(ctx context.Context, outTradeNo string) error {
	t, err := h.Pay.Query(ctx, outTradeNo)
	if err != nil {
		return h.payFailed(ctx, "query", err)
	}
	if t.State == pay.StateSuccess {
		if _, err := models.ApplyWeChatPayment(ctx, h.DB, models.WeChatPayment{OutTradeNo: t.OutTradeNo,
			TransactionID: t.TransactionID, AmountFen: t.AmountFen, PaidAt: t.SuccessTime}); err != nil {
			return err
		}
	}
	return models.ErrNothingOwed.WithMessage("该订单已支付")
}

// payFailed logs a WeChat Pay failure (its code, never a key) and answers
// 503 when it may pass, 502-free: a refusal WeChat Pay gives for good is a
// 409 the parent can read.
func (h *API) payFailed(ctx context.Context, call string, err error) error {
	h.Log.WarnContext(ctx, "wechat pay call failed", "call", call, "error", err.Error())
	if pay.Retryable(err) {
		return errPayUpstream
	}
	return models.E(models.KindConflict, "payment_refused", "微信支付拒绝了本次支付，请联系学校")
}

// WeChatPayNotify is POST /api/v1/pay/wechat/notify (WeChat Pay): payment
// and refund notifications. The signature headers are verified and the
// resource decrypted before anything is believed; a failure answers 401 and
// writes nothing. Each outcome is applied once, however often it comes;
// success answers 204 with no body, as WeChat Pay expects, and anything
// else makes it retry.
func (h *API) WeChatPayNotify(c *fiber.Ctx) error {
	if h.Pay == nil {
		// No merchant here: nothing WeChat Pay could be notifying about.
		return models.E(models.KindNotFound, "payment_unavailable", "未开通微信支付")
	}
	req, err := adaptor.ConvertRequest(c, false)
	if err != nil {
		return BadRequest("bad_request", "请求格式错误")
	}
	ctx := c.UserContext()
	n, err := h.Pay.ParseNotification(ctx, req)
	if err != nil {
		payNotices.WithLabelValues("rejected").Inc()
		h.Log.WarnContext(ctx, "wechat pay notification rejected", "request_id", RequestID(c), "reason", err.Error())
		return models.E(models.KindUnauthorized, "bad_signature", "通知验签失败")
	}
	outcome := ""
	switch {
	case n.Transaction != nil && n.Transaction.State == pay.StateSuccess:
		t := n.Transaction
		outcome, err = models.ApplyNotifiedPayment(ctx, h.DB, models.WeChatPayment{OutTradeNo: t.OutTradeNo,
			TransactionID: t.TransactionID, AmountFen: t.AmountFen, PaidAt: t.SuccessTime})
	case n.Refund != nil:
		outcome, err = "refund", models.ApplyWeChatRefund(ctx, h.DB, models.WeChatRefundResult{OutRefundNo: n.Refund.OutRefundNo,
			RefundID: n.Refund.RefundID, Status: n.Refund.Status, AmountFen: n.Refund.RefundFen, SucceededAt: n.Refund.SuccessTime})
	default:
		outcome = "ignored"
	}
	if errors.Is(err, models.ErrUnknownTrade) {
		// Not ours to apply; the daily reconciliation lists it. Acknowledge
		// so WeChat Pay stops retrying.
		h.Log.WarnContext(ctx, "wechat pay notification for an unknown trade", "event", n.EventType, "notification", n.ID)
		outcome, err = "unknown", nil
	}
	if err != nil {
		return err // 5xx or 4xx: WeChat Pay retries
	}
	payNotices.WithLabelValues(outcome).Inc()
	h.Log.InfoContext(ctx, "wechat pay notification", slog.String("event", n.EventType), slog.String("outcome", outcome))
	return c.SendStatus(fiber.StatusNoContent)
}

// payNotices counts WeChat Pay notifications by outcome (applied,
// repeated, refunded, refund, unknown, ignored, rejected); NewMetrics
// registers it.
var payNotices = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "kehou_wechatpay_notifications_total", Help: "WeChat Pay notifications by outcome.",
}, []string{"outcome"})

// ListReconcileDiffs is GET /api/v1/pay/reconciliation?from&to (admins, in
// their scope): what the daily reconciliation found, the last 31 days by
// default.
func (h *API) ListReconcileDiffs(c *fiber.Ctx) error {
	today := models.LocalDate(h.now())
	from, to := c.Query("from", ""), c.Query("to", today)
	if from == "" {
		t, _ := time.ParseInLocation(time.DateOnly, to, models.Zone)
		from = t.AddDate(0, 0, -30).Format(time.DateOnly)
	}
	for _, d := range []string{from, to} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return BadRequest("bad_param", "from 与 to 须为 YYYY-MM-DD 日期")
		}
	}
	ctx := c.UserContext()
	diffs, err := models.FindReconcileDiffs(ctx, h.DB, CurrentActor(c), from, to)
	if err != nil {
		return err
	}
	last, err := models.LastReconcile(ctx, h.DB)
	if err != nil {
		return err
	}
	out := ReconcileDiffListDTO{Items: make([]ReconcileDiffDTO, 0, len(diffs)), From: from, To: to, WeChatPay: h.Pay != nil}
	if last != nil {
		out.LastRunAt = ptr(rfc3339(*last))
	}
	for _, d := range diffs {
		out.Items = append(out.Items, ReconcileDiffDTO{ID: d.ID, BillDate: d.BillDate, SchoolID: d.SchoolID, SchoolName: d.SchoolName,
			Kind: d.Kind, OutTradeNo: d.OutTradeNo, OutRefundNo: d.OutRefundNo, OrderID: d.OrderID, StudentName: d.StudentName,
			OfferingName: d.OfferingName, LocalFen: d.LocalFen, RemoteFen: d.RemoteFen, FoundAt: rfc3339(d.FoundAt)})
	}
	return c.JSON(out)
}

// ReconcileDiffListDTO is GET /api/v1/pay/reconciliation: the differences
// of from..to, whether this kehou pays through WeChat Pay at all, and when
// the reconcile job last finished (null: never), so an empty list says
// which of "no difference" and "not compared" it means.
type ReconcileDiffListDTO struct {
	Items     []ReconcileDiffDTO `json:"items"`
	From      string             `json:"from"`
	To        string             `json:"to"`
	WeChatPay bool               `json:"wechat_pay"`
	LastRunAt *string            `json:"last_run_at"`
}

// ReconcileDiffDTO is one difference the reconciliation found.
type ReconcileDiffDTO struct {
	ID          int64  `json:"id"`
	BillDate    string `json:"bill_date"`
	SchoolID    *int64 `json:"school_id"`
	Kind        string `json:"kind"`
	OutTradeNo  string `json:"out_trade_no"`
	OutRefundNo string `json:"out_refund_no"`
	// SchoolName and OrderID are null when no school or order of kehou
	// matches; StudentName and OfferingName are a school admin's only.
	SchoolName   *string `json:"school_name"`
	OrderID      *int64  `json:"order_id"`
	StudentName  *string `json:"student_name,omitempty"`
	OfferingName *string `json:"offering_name,omitempty"`
	LocalFen     int64   `json:"local_fen"`
	RemoteFen    int64   `json:"remote_fen"`
	FoundAt      string  `json:"found_at"`
}
