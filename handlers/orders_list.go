package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// SchoolOrderDTO is an order in a school's list: the student, the seat,
// the bill and what was paid, refunded and credited, what is still owed
// (owed_fen, as GET /orders/{id} says it), and (refundable_fen is what a refund
// by hand may still give back).
type SchoolOrderDTO struct {
	ID               int64  `json:"id"`
	TermID           int64  `json:"term_id"`
	StudentID        int64  `json:"student_id"`
	StudentNo        string `json:"student_no"`
	StudentName      string `json:"student_name"`
	OfferingID       int64  `json:"offering_id"`
	OfferingName     string `json:"offering_name"`
	EnrollmentID     int64  `json:"enrollment_id"`
	EnrollmentStatus string `json:"enrollment_status"`
	Billing          string `json:"billing"`
	AmountFen        int64  `json:"amount_fen"`
	Waiver           string `json:"waiver"`
	Status           string `json:"status"`
	OrderSumsDTO
	HoldExpiresAt *string `json:"hold_expires_at"`
	CreatedAt     string  `json:"created_at"`
}

// ListSchoolOrders is GET /api/v1/schools/{id}/orders?status&term_id&q&cursor&limit
// (school staff): the school's orders, newest first — status=unpaid is the
// list of seats held for payment, for families who never saw the message;
// q finds a student's orders by name or student number.
func (h *API) ListSchoolOrders(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := models.OrderListFilter{Query: c.Query("q")}
	if f.TermID, err = queryID(c, "term_id"); err != nil {
		return err
	}
	if f.Status = models.OrderStatus(c.Query("status")); f.Status != "" && !f.Status.Valid() {
		return BadRequest("bad_param", "status 须为订单状态之一")
	}
	var limit int
	if f.Before, limit, err = pageParams(c); err != nil {
		return err
	}
	f.Limit = limit + 1
	rows, err := models.FindSchoolOrders(c.UserContext(), h.DB, CurrentActor(c), id, f)
	if err != nil {
		return err
	}
	var out Page[SchoolOrderDTO]
	rows, out.NextCursor = keysetPage(rows, limit, func(o models.SchoolOrder) int64 { return o.ID })
	out.Items = make([]SchoolOrderDTO, 0, len(rows))
	for _, o := range rows {
		d := SchoolOrderDTO{ID: o.ID, TermID: o.TermID, StudentID: o.StudentID, StudentNo: o.StudentNo, StudentName: o.StudentName,
			OfferingID: o.OfferingID, OfferingName: o.OfferingName, EnrollmentID: o.EnrollmentID,
			EnrollmentStatus: string(o.EnrollmentStatus), Billing: o.Billing, AmountFen: o.AmountFen, Waiver: o.Waiver,
			Status: string(o.Status), OrderSumsDTO: newOrderSums(o.PaidFen, o.RefundedFen, o.CreditedFen, o.OwedFen),
			CreatedAt: rfc3339(o.CreatedAt)}
		if o.HoldExpiresAt != nil && o.EnrollmentStatus == models.StatusPendingPayment {
			d.HoldExpiresAt = ptr(rfc3339(*o.HoldExpiresAt))
		}
		out.Items = append(out.Items, d)
	}
	return c.JSON(out)
}
