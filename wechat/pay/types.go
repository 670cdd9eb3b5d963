package pay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

// Trade states of a transaction, as WeChat Pay names them.
const (
	StateSuccess    = "SUCCESS"
	StateNotPay     = "NOTPAY"
	StateClosed     = "CLOSED"
	StateRefund     = "REFUND"
	StateUserPaying = "USERPAYING"
	StatePayError   = "PAYERROR"
)

// Refund statuses, as WeChat Pay names them.
const (
	RefundSuccess    = "SUCCESS"
	RefundProcessing = "PROCESSING"
	RefundClosed     = "CLOSED"
	RefundAbnormal   = "ABNORMAL"
)

// Event types of notifications.
const (
	EventPaid           = "TRANSACTION.SUCCESS"
	EventRefundSuccess  = "REFUND.SUCCESS"
	EventRefundAbnormal = "REFUND.ABNORMAL"
	EventRefundClosed   = "REFUND.CLOSED"
)

// Transaction is a payment as WeChat Pay reports it (query or notification).
type Transaction struct {
	OutTradeNo    string
	TransactionID string
	State         string // StateSuccess, StateNotPay, …
	AmountFen     int64  // amount.total
	PayerFen      int64  // amount.payer_total
	OpenID        string
	Attach        string
	SuccessTime   time.Time
}

// transactionJSON is a transaction on the wire.
type transactionJSON struct {
	AppID         string `json:"appid,omitempty"`
	MchID         string `json:"mchid,omitempty"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id,omitempty"`
	TradeType     string `json:"trade_type,omitempty"`
	TradeState    string `json:"trade_state"`
	StateDesc     string `json:"trade_state_desc,omitempty"`
	BankType      string `json:"bank_type,omitempty"`
	Attach        string `json:"attach,omitempty"`
	SuccessTime   string `json:"success_time,omitempty"`
	Payer         *struct {
		OpenID string `json:"openid"`
	} `json:"payer,omitempty"`
	Amount *struct {
		Total         int64  `json:"total"`
		PayerTotal    int64  `json:"payer_total"`
		Currency      string `json:"currency,omitempty"`
		PayerCurrency string `json:"payer_currency,omitempty"`
	} `json:"amount,omitempty"`
}

func parseTransaction(raw []byte) (Transaction, error) {
	var j transactionJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Transaction{}, fmt.Errorf("wechat pay: transaction: %w", err)
	}
	t := Transaction{OutTradeNo: j.OutTradeNo, TransactionID: j.TransactionID, State: j.TradeState, Attach: j.Attach}
	if j.Amount != nil {
		t.AmountFen, t.PayerFen = j.Amount.Total, j.Amount.PayerTotal
	}
	if j.Payer != nil {
		t.OpenID = j.Payer.OpenID
	}
	if j.SuccessTime != "" {
		st, err := time.Parse(time.RFC3339, j.SuccessTime)
		if err != nil {
			return Transaction{}, fmt.Errorf("wechat pay: success_time %q: %w", j.SuccessTime, err)
		}
		t.SuccessTime = st
	}
	if t.OutTradeNo == "" || t.State == "" {
		return Transaction{}, errors.New("wechat pay: transaction without out_trade_no or trade_state")
	}
	return t, nil
}

// Refund is a refund as WeChat Pay reports it.
type Refund struct {
	RefundID      string
	OutRefundNo   string
	OutTradeNo    string
	TransactionID string
	Status        string // RefundSuccess, RefundProcessing, …
	RefundFen     int64
	SuccessTime   time.Time
}

// refundNoticeJSON is the decrypted resource of a refund notification.
type refundNoticeJSON struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	SuccessTime   string `json:"success_time,omitempty"`
	Account       string `json:"user_received_account,omitempty"`
	Amount        struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// Notification is a verified, decrypted notification: a payment
// (Transaction set) or a refund's outcome (Refund set).
type Notification struct {
	ID          string // the notification's id (the same on every retry of it)
	EventType   string // EventPaid, EventRefundSuccess, …
	Transaction *Transaction
	Refund      *Refund
}

// ErrBadNotification is a notification that failed verification: a wrong
// or missing signature, an unknown serial, a time stamp more than five
// minutes off, or a resource that does not decrypt. Nothing in it is to be
// believed; answer 401 and write nothing.
var ErrBadNotification = errors.New("wechat pay: notification failed verification")

// ParseNotification verifies r's signature headers (the time stamp within
// five minutes, the serial WeChat Pay's public key id) and decrypts its
// resource with the APIv3 key (AEAD_AES_256_GCM). Verification failures
// wrap ErrBadNotification; their text names no key and no header value.
func (c *Client) ParseNotification(ctx context.Context, r *http.Request) (Notification, error) {
	var content json.RawMessage
	req, err := c.notify.ParseNotifyRequest(ctx, r, &content)
	if err != nil {
		// The SDK's error quotes the whole request; keep it out of logs.
		return Notification{}, ErrBadNotification
	}
	n := Notification{ID: req.ID, EventType: req.EventType}
	switch {
	case req.EventType == EventPaid:
		t, err := parseTransaction(content)
		if err != nil {
			return Notification{}, err
		}
		n.Transaction = &t
	case len(req.EventType) > 7 && req.EventType[:7] == "REFUND.":
		var j refundNoticeJSON
		if err := json.Unmarshal(content, &j); err != nil {
			return Notification{}, fmt.Errorf("wechat pay: refund notification: %w", err)
		}
		rf := Refund{RefundID: j.RefundID, OutRefundNo: j.OutRefundNo, OutTradeNo: j.OutTradeNo,
			TransactionID: j.TransactionID, Status: j.RefundStatus, RefundFen: j.Amount.Refund}
		if j.SuccessTime != "" {
			rf.SuccessTime, _ = time.Parse(time.RFC3339, j.SuccessTime)
		}
		n.Refund = &rf
	default:
		return Notification{}, fmt.Errorf("wechat pay: notification of unknown event type %q", req.EventType)
	}
	return n, nil
}

// Error is an error answer of WeChat Pay: the HTTP status and its code
// (PARAM_ERROR, SIGN_ERROR, ORDERPAID, ORDER_CLOSED, NOT_ENOUGH,
// FREQUENCY_LIMITED, SYSTEM_ERROR, ORDER_NOT_EXIST, …).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("wechat pay: %d %s: %s", e.Status, e.Code, e.Message)
}

// Is lets errors.Is match an *Error against the sentinels below by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == 0 && t.Code == e.Code
}

// Sentinels for errors.Is, matched by code.
var (
	ErrOrderPaid     = &Error{Code: "ORDERPAID"}
	ErrOrderClosed   = &Error{Code: "ORDER_CLOSED"}
	ErrOrderNotExist = &Error{Code: "ORDER_NOT_EXIST"}
	ErrNotEnough     = &Error{Code: "NOT_ENOUGH"}
	ErrSign          = &Error{Code: "SIGN_ERROR"}
	ErrParam         = &Error{Code: "PARAM_ERROR"}
	ErrResourceGone  = &Error{Code: "RESOURCE_NOT_EXISTS"}
)

// Retryable reports whether err may succeed if the same request is sent
// again later: WeChat Pay's 5xx and SYSTEM_ERROR, FREQUENCY_LIMITED and
// BANKERROR, NOT_ENOUGH (a refund from an account short of funds: WeChat
// Pay asks to send the same refund again once it is topped up), a network
// failure, or an answer that failed verification. Other business refusals
// (4xx) are final.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
			e.Code == "SYSTEM_ERROR" || e.Code == "FREQUENCY_LIMITED" || e.Code == "BANKERROR" || e.Code == "NOT_ENOUGH"
	}
	return true
}

// apiError turns the SDK's *core.APIError into an *Error.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ae *core.APIError
	if errors.As(err, &ae) {
		return &Error{Status: ae.StatusCode, Code: ae.Code, Message: ae.Message}
	}
	return fmt.Errorf("wechat pay: %w", err)
}

// nonce is 32 random hex characters.
func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
