package handlers

import (
	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// FeePolicyDTO is a region's fee policy in force: its own, or inherited
// from source_region_id (null: the default, no region sets one).
type FeePolicyDTO struct {
	RegionID              int64   `json:"region_id"`
	SourceRegionID        *int64  `json:"source_region_id"`
	SourceRegionName      string  `json:"source_region_name"`
	Inherited             bool    `json:"inherited"`
	BasicMaxFenPerSession *int64  `json:"basic_max_fen_per_session"`
	ClubMaxFenPerSession  *int64  `json:"club_max_fen_per_session"`
	HoldMinutes           int     `json:"hold_minutes"`
	RefundRule            string  `json:"refund_rule"`
	UpdatedAt             *string `json:"updated_at"`
}

func newFeePolicyDTO(regionID int64, p models.FeePolicy) FeePolicyDTO {
	d := FeePolicyDTO{RegionID: regionID, BasicMaxFenPerSession: p.BasicMaxFenPerSession, ClubMaxFenPerSession: p.ClubMaxFenPerSession,
		HoldMinutes: p.HoldMinutes, RefundRule: p.RefundRule, SourceRegionName: p.RegionName, Inherited: p.RegionID != regionID}
	if p.RegionID != 0 {
		d.SourceRegionID = ptr(p.RegionID)
		d.UpdatedAt = ptr(rfc3339(p.UpdatedAt))
	}
	return d
}

type feePolicyRequest struct {
	BasicMaxFenPerSession *int64 `json:"basic_max_fen_per_session"`
	ClubMaxFenPerSession  *int64 `json:"club_max_fen_per_session"`
	HoldMinutes           *int   `json:"hold_minutes"`
	RefundRule            string `json:"refund_rule"`
}

// PutFeePolicy is PUT /api/v1/regions/{id}/fee-policy (bureau admin of the
// region or above): the whole policy replaced; a cap absent or null is no
// cap.
func (h *API) PutFeePolicy(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in feePolicyRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := models.SetFeePolicy(c.UserContext(), h.DB, CurrentActor(c), id, models.NewFeePolicy{
		BasicMaxFenPerSession: in.BasicMaxFenPerSession, ClubMaxFenPerSession: in.ClubMaxFenPerSession,
		HoldMinutes: in.HoldMinutes, RefundRule: in.RefundRule})
	if err != nil {
		return err
	}
	return c.JSON(newFeePolicyDTO(id, p))
}

// GetFeePolicy is GET /api/v1/regions/{id}/fee-policy (staff in scope): the
// policy in force there, and the region that set it.
func (h *API) GetFeePolicy(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p, err := models.FindFeePolicy(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newFeePolicyDTO(id, p))
}

// FeeLineDTO is one offering of the public fee list.
type FeeLineDTO struct {
	OfferingID    int64  `json:"offering_id"`
	TermID        int64  `json:"term_id"`
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	Billing       string `json:"billing"`
	BillingLabel  string `json:"billing_label"`
	UnitFen       int64  `json:"unit_fen"`
	Sessions      int    `json:"sessions"`
	Months        int    `json:"months"`
	TermAmountFen int64  `json:"term_amount_fen"`
	PerSessionFen int64  `json:"per_session_fen"`
}

// SchoolFeesDTO is GET /api/v1/schools/{id}/fees: the fees, the cap that
// limits them, the refund rule and the waiver rule.
type SchoolFeesDTO struct {
	Items  []FeeLineDTO `json:"items"`
	Policy FeePolicyDTO `json:"policy"`
	// WaiverRule says what a waiver does, in words a parent reads.
	WaiverRule string `json:"waiver_rule"`
}

// SchoolFees is GET /api/v1/schools/{id}/fees?term_id (staff in scope,
// linked parents): every published offering's billing, unit fee, sessions
// and term amount — what a parent sees before pressing enroll.
func (h *API) SchoolFees(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	termID, err := queryID(c, "term_id")
	if err != nil {
		return err
	}
	lines, p, ok, err := models.FindSchoolFees(c.UserContext(), h.DB, CurrentActor(c), id, termID)
	if err != nil {
		return err
	}
	if !ok {
		p = models.DefaultFeePolicy()
	}
	out := SchoolFeesDTO{Items: make([]FeeLineDTO, 0, len(lines)), Policy: newFeePolicyDTO(p.RegionID, p),
		WaiverRule: models.WaiverRule}
	out.Policy.Inherited = false
	for _, l := range lines {
		o := l.Offering
		out.Items = append(out.Items, FeeLineDTO{OfferingID: o.ID, TermID: o.TermID, Name: o.Name, Kind: o.Kind,
			Billing: o.Billing, BillingLabel: models.BillingLabel(o.Billing), UnitFen: o.FeeFen, Sessions: l.Sessions,
			Months: l.Months, TermAmountFen: l.TermAmountFen, PerSessionFen: l.PerSessionFen})
	}
	return c.JSON(out)
}
