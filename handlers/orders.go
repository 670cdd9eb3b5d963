package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// LedgerEntryDTO is one movement of an order's money.
type LedgerEntryDTO struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	AmountFen  int64  `json:"amount_fen"`
	ExternalID string `json:"external_id"`
	Method     string `json:"method,omitempty"`
	Ref        string `json:"ref,omitempty"`
	Reason     string `json:"reason,omitempty"`
	SessionID  *int64 `json:"session_id,omitempty"`
	OccurredAt string `json:"occurred_at"`
	CreatedAt  string `json:"created_at"`
	// WeChatRefund is a refund row's journey through WeChat Pay (absent
	// when the school pays it back itself).
	WeChatRefund *WeChatRefundDTO `json:"wechat_refund,omitempty"`
}

// WeChatRefundDTO says whether a refund sent through WeChat Pay reached
// the family: pending|processing|success|failed; WeChat Pay's refusal
// (last_error) is shown to staff only.
type WeChatRefundDTO struct {
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
	SucceededAt string `json:"succeeded_at,omitempty"`
}

// OrderSumsDTO are an order's sums from its ledger, as the order and the
// school's list of orders both say them.
type OrderSumsDTO struct {
	PaidFen     int64 `json:"paid_fen"`
	RefundedFen int64 `json:"refunded_fen"`
	// RefundableFen is paid less refunded: the most a refund may move.
	RefundableFen int64 `json:"refundable_fen"`
	CreditedFen   int64 `json:"credited_fen"`
	// OwedFen is what the family still owes (LedgerSums.Owed, never
	// below zero).
	OwedFen int64 `json:"owed_fen"`
}

func newOrderSums(paid, refunded, credited, owed int64) OrderSumsDTO {
	return OrderSumsDTO{PaidFen: paid, RefundedFen: refunded, RefundableFen: max(0, paid-refunded), CreditedFen: credited,
		OwedFen: max(0, owed)}
}

// OrderDTO is GET /api/v1/orders/{id}: the bill as made, the waiver, the
// status derived from the ledger, the sums, the refunds and the ledger.
type OrderDTO struct {
	ID           int64  `json:"id"`
	SchoolID     int64  `json:"school_id"`
	TermID       int64  `json:"term_id"`
	OfferingID   int64  `json:"offering_id"`
	StudentID    int64  `json:"student_id"`
	EnrollmentID int64  `json:"enrollment_id"`
	Billing      string `json:"billing"`
	UnitFen      int64  `json:"unit_fen"`
	Sessions     int    `json:"sessions"`
	BillsFrom    string `json:"bills_from"`
	GrossFen     int64  `json:"gross_fen"`
	Waiver       string `json:"waiver"`
	WaiverFen    int64  `json:"waiver_fen"`
	AmountFen    int64  `json:"amount_fen"`
	Status       string `json:"status"`
	OrderSumsDTO
	Refunds   []LedgerEntryDTO `json:"refunds"`
	Ledger    []LedgerEntryDTO `json:"ledger"`
	CreatedAt string           `json:"created_at"`
	// HoldExpiresAt is when an unpaid order's held seat is released
	// unpaid: the deadline the family pays by.
	HoldExpiresAt *string `json:"hold_expires_at,omitempty"`
}

// newOrderDTO is v's answer; staff also see why WeChat Pay refused a refund.
func newOrderDTO(v models.OrderView, staff bool) OrderDTO {
	o := v.Order
	d := OrderDTO{ID: o.ID, SchoolID: o.SchoolID, TermID: o.TermID, OfferingID: o.OfferingID, StudentID: o.StudentID,
		EnrollmentID: o.EnrollmentID, Billing: o.Billing, UnitFen: o.UnitFen, Sessions: o.Sessions, BillsFrom: o.BillsFrom,
		GrossFen: o.GrossFen, Waiver: o.Waiver, WaiverFen: o.WaiverFen, AmountFen: o.AmountFen, Status: string(o.Status),
		OrderSumsDTO: newOrderSums(v.Sums.Payment, v.Sums.Refund, v.Sums.Credit, v.Sums.Owed()),
		Refunds:      []LedgerEntryDTO{}, Ledger: make([]LedgerEntryDTO, 0, len(v.Ledger)), CreatedAt: rfc3339(o.CreatedAt)}
	if v.HoldExpiresAt != nil {
		d.HoldExpiresAt = ptr(rfc3339(*v.HoldExpiresAt))
	}
	for _, m := range v.Ledger {
		e := LedgerEntryDTO{ID: m.ID, Kind: string(m.Kind), AmountFen: m.AmountFen, ExternalID: m.ExternalID, Method: m.Method,
			Ref: m.Ref, Reason: m.Reason, SessionID: m.SessionID, OccurredAt: rfc3339(m.OccurredAt), CreatedAt: rfc3339(m.CreatedAt)}
		if pr, ok := v.WeChatRefunds[m.ID]; ok {
			e.WeChatRefund = &WeChatRefundDTO{Status: string(pr.Status), Attempts: pr.Attempts}
			if staff {
				e.WeChatRefund.LastError = pr.LastError
			}
			if pr.SucceededAt != nil {
				e.WeChatRefund.SucceededAt = rfc3339(*pr.SucceededAt)
			}
		}
		d.Ledger = append(d.Ledger, e)
		if m.Kind == models.LedgerRefund {
			d.Refunds = append(d.Refunds, e)
		}
	}
	return d
}

// GetOrder is GET /api/v1/orders/{id} (a linked guardian, the school's
// staff).
func (h *API) GetOrder(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	v, err := models.FindOrderFor(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newOrderDTO(v, CurrentActor(c).IsStaff()))
}

type paymentRequest struct {
	Method string `json:"method"`
	Ref    string `json:"ref"`
	PaidAt string `json:"paid_at"`
}

// RecordPayment is POST /api/v1/orders/{id}/payments (school admin): the
// order paid outside kehou (bank, cash, a government fee platform), for
// everything it owes. The same method and ref again answers the order as it
// is.
func (h *API) RecordPayment(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in paymentRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var v models.Validator
	var paidAt time.Time
	if in.PaidAt == "" {
		v.Check(false, "paid_at", "缴费时间必填")
	} else {
		paidAt, _ = parseTime(&v, "paid_at", in.PaidAt)
	}
	if err := v.Err(); err != nil {
		return err
	}
	o, err := models.RecordPayment(c.UserContext(), h.DB, CurrentActor(c), id, models.NewPayment{Method: in.Method, Ref: in.Ref, PaidAt: paidAt})
	if err != nil {
		return err
	}
	return c.JSON(newOrderDTO(o, true))
}

type refundRequest struct {
	AmountFen *int64 `json:"amount_fen"`
	Reason    string `json:"reason"`
}

// RefundOrder is POST /api/v1/orders/{id}/refunds (school admin): part of
// an order refunded by hand with a reason, never above what was paid minus
// what was refunded. A retry never refunds twice: an Idempotency-Key names
// the refund; without one an identical refund of the last minutes is 409
// duplicate_refund (models.RefundOrder).
func (h *API) RefundOrder(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in refundRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.AmountFen == nil {
		return &models.ValidationError{Fields: map[string]string{"amount_fen": "退费金额必填（分）"}}
	}
	key := strings.TrimSpace(c.Get("Idempotency-Key"))
	if len(key) > 100 {
		return models.ErrBadIdempotencyKey
	}
	o, err := models.RefundOrder(c.UserContext(), h.DB, CurrentActor(c), id, models.NewRefund{AmountFen: *in.AmountFen, Reason: in.Reason, Key: key})
	if err != nil {
		return err
	}
	return c.JSON(newOrderDTO(o, true))
}

// StudentDTO's waiver fields answer PATCH /api/v1/students/{id}.
type studentWaiverDTO struct {
	ID           int64  `json:"id"`
	SchoolID     int64  `json:"school_id"`
	FeeWaiver    string `json:"fee_waiver"`
	WaiverReason string `json:"waiver_reason"`
}

type studentPatchRequest struct {
	FeeWaiver    *string `json:"fee_waiver"`
	WaiverReason *string `json:"waiver_reason"`
}

// PatchStudent is PATCH /api/v1/students/{id} (school admin): the
// student's fee waiver and its reason, audited. It applies to orders made
// from then on.
func (h *API) PatchStudent(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in studentPatchRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.FeeWaiver == nil {
		return &models.ValidationError{Fields: map[string]string{"fee_waiver": "减免必填：none、half 或 full"}}
	}
	w, err := models.SetStudentWaiver(c.UserContext(), h.DB, CurrentActor(c), id, *in.FeeWaiver, deref(in.WaiverReason))
	if err != nil {
		return err
	}
	return c.JSON(studentWaiverDTO{ID: w.StudentID, SchoolID: w.SchoolID, FeeWaiver: w.FeeWaiver, WaiverReason: w.WaiverReason})
}
