package handlers

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// OfferingDTO is an offering in API answers, with its seat counters.
type OfferingDTO struct {
	ID             int64   `json:"id"`
	SchoolID       int64   `json:"school_id"`
	TermID         int64   `json:"term_id"`
	Kind           string  `json:"kind"`
	Name           string  `json:"name"`
	Category       string  `json:"category"`
	CategoryLabel  string  `json:"category_label"`
	Description    string  `json:"description"`
	Teacher        string  `json:"teacher"`
	TeacherUserID  *int64  `json:"teacher_user_id"`
	Venue          string  `json:"venue"`
	Weekdays       []int   `json:"weekdays"`
	StartTime      string  `json:"start_time"`
	EndTime        string  `json:"end_time"`
	Capacity       int     `json:"capacity"`
	Grades         []int   `json:"grades"`
	FeeFen         int64   `json:"fee_fen"`
	Billing        string  `json:"billing"`
	Mode           string  `json:"mode"`
	Waitlist       bool    `json:"waitlist"`
	EnrollOpensAt  string  `json:"enroll_opens_at"`
	EnrollClosesAt string  `json:"enroll_closes_at"`
	Status         string  `json:"status"`
	Enrolled       int     `json:"enrolled"`
	Held           *int    `json:"held,omitempty"` // of Enrolled, the seats held for payment (staff's lists only)
	Waitlisted     int     `json:"waitlisted"`
	Applied        int     `json:"applied"`
	Remaining      int     `json:"remaining"`
	DrawnAt        *string `json:"drawn_at"`
	// SeedSHA256 is the lottery seed's commitment (null unless a published
	// lottery offering); Seed the seed, revealed once drawn.
	SeedSHA256 *string `json:"seed_sha256"`
	Seed       *string `json:"seed"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
}

// NewOfferingDTO maps an offering to its DTO.
func NewOfferingDTO(o models.Offering) OfferingDTO {
	d := OfferingDTO{ID: o.ID, SchoolID: o.SchoolID, TermID: o.TermID, Kind: o.Kind, Name: o.Name, Category: o.Category,
		CategoryLabel: models.CategoryLabel(o.Category), Description: o.Description, Teacher: o.Teacher, Venue: o.Venue, Weekdays: models.Unmask(o.Weekdays),
		StartTime: models.FormatClock(o.StartMin), EndTime: models.FormatClock(o.EndMin), Capacity: o.Capacity,
		Grades: models.Unmask(o.Grades), FeeFen: o.FeeFen, Billing: o.Billing, Mode: o.Mode, Waitlist: o.Waitlist,
		EnrollOpensAt: rfc3339(o.EnrollOpensAt), EnrollClosesAt: rfc3339(o.EnrollClosesAt), Status: o.Status, TeacherUserID: o.TeacherUserID,
		Enrolled: o.EnrolledCount, Waitlisted: o.WaitlistedCount, Applied: o.AppliedCount, Remaining: o.Remaining(),
		CreatedAt: rfc3339(o.CreatedAt), UpdatedAt: rfc3339(o.UpdatedAt)}
	if o.DrawnAt != nil {
		d.DrawnAt = ptr(rfc3339(*o.DrawnAt))
	}
	d.SeedSHA256, d.Seed = o.SeedSHA256, o.RevealedSeed()
	return d
}

type offeringRequest struct {
	TermID         *int64  `json:"term_id"`
	Kind           *string `json:"kind"`
	Name           *string `json:"name"`
	Category       *string `json:"category"`
	Description    *string `json:"description"`
	Teacher        *string `json:"teacher"`
	TeacherUserID  *int64  `json:"teacher_user_id"` // 0 clears it (PATCH)
	Venue          *string `json:"venue"`
	Weekdays       *[]int  `json:"weekdays"`
	StartTime      *string `json:"start_time"`
	EndTime        *string `json:"end_time"`
	Capacity       *int    `json:"capacity"`
	Grades         *[]int  `json:"grades"`
	FeeFen         *int64  `json:"fee_fen"`
	Billing        *string `json:"billing"`
	Mode           *string `json:"mode"`
	Waitlist       *bool   `json:"waitlist"`
	EnrollOpensAt  *string `json:"enroll_opens_at"`
	EnrollClosesAt *string `json:"enroll_closes_at"`
	// Force (PATCH only) keeps a change that breaks a rule for students
	// already enrolled; their families are told.
	Force bool `json:"force"`
}

// times parses the window's RFC 3339 times (shape check: 422 per field).
func (r offeringRequest) times() (opens, closes *time.Time, err error) {
	var v models.Validator
	parse := func(s *string, field string) *time.Time {
		if s == nil {
			return nil
		}
		t, ok := parseTime(&v, field, *s)
		if !ok {
			return nil
		}
		return &t
	}
	opens, closes = parse(r.EnrollOpensAt, "enroll_opens_at"), parse(r.EnrollClosesAt, "enroll_closes_at")
	return opens, closes, v.Err()
}

// CreateOffering is POST /api/v1/schools/{id}/offerings (school admin) → 201, draft.
func (h *API) CreateOffering(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in offeringRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	opens, closes, err := in.times()
	if err != nil {
		return err
	}
	n := models.NewOffering{TermID: deref(in.TermID), Kind: deref(in.Kind), Name: deref(in.Name),
		Category: deref(in.Category), Description: deref(in.Description), Teacher: deref(in.Teacher),
		Venue: deref(in.Venue), StartTime: deref(in.StartTime), EndTime: deref(in.EndTime),
		Capacity: deref(in.Capacity), FeeFen: deref(in.FeeFen), Billing: deref(in.Billing), Mode: deref(in.Mode), Waitlist: in.Waitlist,
		EnrollOpensAt: opens, EnrollClosesAt: closes}
	if in.TeacherUserID != nil && *in.TeacherUserID != 0 {
		n.TeacherUserID = in.TeacherUserID
	}
	if in.Weekdays != nil {
		n.Weekdays = *in.Weekdays
	}
	if in.Grades != nil {
		n.Grades = *in.Grades
	}
	o, err := models.CreateOffering(c.UserContext(), h.DB, CurrentActor(c), id, n)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(NewOfferingDTO(o))
}

// PatchOffering is PATCH /api/v1/offerings/{id} (school admin): absent
// fields stay as they are.
func (h *API) PatchOffering(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in offeringRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	opens, closes, err := in.times()
	if err != nil {
		return err
	}
	o, err := models.PatchOffering(c.UserContext(), h.DB, CurrentActor(c), id, models.UpdateOffering{
		TermID: in.TermID, Kind: in.Kind, Name: in.Name, Category: in.Category, Description: in.Description,
		Teacher: in.Teacher, Venue: in.Venue, Weekdays: in.Weekdays, StartTime: in.StartTime, EndTime: in.EndTime, TeacherUserID: in.TeacherUserID,
		Capacity: in.Capacity, Grades: in.Grades, FeeFen: in.FeeFen, Billing: in.Billing, Mode: in.Mode, Waitlist: in.Waitlist,
		EnrollOpensAt: opens, EnrollClosesAt: closes, Force: in.Force})
	if err != nil {
		return err
	}
	return c.JSON(NewOfferingDTO(o))
}

// ListOfferings is GET /api/v1/schools/{id}/offerings?term_id&kind&grade
// (staff in scope: every status; linked parents: published and closed).
func (h *API) ListOfferings(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var f models.OfferingFilter
	if f.TermID, err = queryID(c, "term_id"); err != nil {
		return err
	}
	// The filter becomes a key of the offerings cache: it takes the
	// constants, not Fiber's query string, which aliases the request buffer.
	switch c.Query("kind") {
	case "":
	case models.KindBasic:
		f.Kind = models.KindBasic
	case models.KindClub:
		f.Kind = models.KindClub
	default:
		return BadRequest("bad_param", "kind 须为 basic 或 club")
	}
	if s := c.Query("grade"); s != "" {
		g, err := strconv.Atoi(s)
		if err != nil || g < 1 || g > 9 {
			return BadRequest("bad_param", "grade 须为 1-9")
		}
		f.Grade = g
	}
	offset, limit, err := wholePageParams(c)
	if err != nil {
		return err
	}
	studentID, err := queryID(c, "student_id")
	if err != nil {
		return err
	}
	if studentID > 0 {
		return h.studentOfferingList(c, id, studentID, f, offset, limit)
	}
	// A parent's first page of the default size comes from the cache;
	// another page is cut from the database's list (rare: a school's clubs
	// fit on the first page).
	if CurrentActor(c).Role == models.RoleParent && offset == 0 && limit == DefaultPageSize {
		return h.parentOfferingList(c, id, f)
	}
	a := CurrentActor(c)
	os, err := models.FindOfferings(c.UserContext(), h.DB, a, id, f)
	if err != nil {
		return err
	}
	// Staff see the seats held for payment apart from the paid ones.
	var held map[int64]int
	if a.IsStaff() {
		if held, err = models.CountHeldSeats(c.UserContext(), h.DB, id, f.TermID); err != nil {
			return err
		}
	}
	items := make([]OfferingDTO, 0, len(os))
	for _, o := range os {
		d := NewOfferingDTO(o)
		if held != nil {
			d.Held = ptr(held[o.ID])
		}
		items = append(items, d)
	}
	return c.JSON(offsetPage(items, offset, limit))
}

// StudentOfferingDTO is a club as one child sees it: student_state says
// what tapping "报名" would do (models.FindOfferingStates), and
// next_session_date is its next scheduled session (null when none is left).
type StudentOfferingDTO struct {
	OfferingDTO
	StudentState    string  `json:"student_state"`
	NextSessionDate *string `json:"next_session_date"`
}

// studentOfferingList is GET …/offerings?student_id=: the list, each club
// with its state for that child (not cached: it is one child's).
func (h *API) studentOfferingList(c *fiber.Ctx, schoolID, studentID int64, f models.OfferingFilter, offset, limit int) error {
	ctx, a := c.UserContext(), CurrentActor(c)
	os, err := models.FindOfferings(ctx, h.DB, a, schoolID, f)
	if err != nil {
		return err
	}
	states, err := models.FindOfferingStates(ctx, h.DB, a, schoolID, studentID, os, h.now())
	if err != nil {
		return err
	}
	items := make([]StudentOfferingDTO, 0, len(os))
	for _, o := range os {
		s := states[o.ID]
		items = append(items, StudentOfferingDTO{OfferingDTO: NewOfferingDTO(o), StudentState: s.State, NextSessionDate: s.NextSessionDate})
	}
	return c.JSON(offsetPage(items, offset, limit))
}

// GetOffering is GET /api/v1/offerings/{id}.
func (h *API) GetOffering(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	o, err := models.FindOfferingFor(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(NewOfferingDTO(o))
}

// offeringStep adapts a lifecycle operation to a handler.
func (h *API) offeringStep(op func(ctx context.Context, db *models.DB, a models.Actor, id int64) (models.Offering, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		o, err := op(c.UserContext(), h.DB, CurrentActor(c), id)
		if err != nil {
			return err
		}
		return c.JSON(NewOfferingDTO(o))
	}
}

// PublishOffering is POST /api/v1/offerings/{id}/publish (draft → published).
func (h *API) PublishOffering(c *fiber.Ctx) error { return h.offeringStep(models.PublishOffering)(c) }

// CloseOffering is POST /api/v1/offerings/{id}/close (published → closed).
func (h *API) CloseOffering(c *fiber.Ctx) error { return h.offeringStep(models.CloseOffering)(c) }

// ReopenOffering is POST /api/v1/offerings/{id}/reopen (closed → published).
func (h *API) ReopenOffering(c *fiber.Ctx) error { return h.offeringStep(models.ReopenOffering)(c) }

type cancelOfferingRequest struct {
	Reason string `json:"reason"`
}

// CancelOffering is POST /api/v1/offerings/{id}/cancel with an optional
// body {reason}: releases every seat and tells the families, with the
// reason.
func (h *API) CancelOffering(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in cancelOfferingRequest
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	o, err := models.CancelOffering(c.UserContext(), h.DB, CurrentActor(c), id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(NewOfferingDTO(o))
}
