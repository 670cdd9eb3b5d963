package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// SurveyDTO is a survey in API answers. For a parent, StudentIDs lists the
// children it concerns and RespondedStudentIDs those already answered for
// (both always present for a parent; absent for staff).
type SurveyDTO struct {
	ID                  int64    `json:"id"`
	RegionID            *int64   `json:"region_id"`
	SchoolID            *int64   `json:"school_id"`
	TermID              *int64   `json:"term_id"`
	Title               string   `json:"title"`
	OpensAt             string   `json:"opens_at"`
	ClosesAt            string   `json:"closes_at"`
	Open                bool     `json:"open"`
	CreatedAt           string   `json:"created_at"`
	StudentIDs          *[]int64 `json:"student_ids,omitempty"`
	RespondedStudentIDs *[]int64 `json:"responded_student_ids,omitempty"`
}

// NewSurveyDTO maps a survey to its DTO as of now.
func NewSurveyDTO(s models.Survey, now time.Time) SurveyDTO {
	return SurveyDTO{ID: s.ID, RegionID: s.RegionID, SchoolID: s.SchoolID, TermID: s.TermID, Title: s.Title,
		OpensAt: rfc3339(s.OpensAt), ClosesAt: rfc3339(s.ClosesAt), Open: s.IsOpen(now), CreatedAt: rfc3339(s.CreatedAt)}
}

type newSurveyRequest struct {
	RegionID *int64 `json:"region_id"`
	SchoolID *int64 `json:"school_id"`
	TermID   *int64 `json:"term_id"`
	Title    string `json:"title"`
	OpensAt  string `json:"opens_at"`
	ClosesAt string `json:"closes_at"`
}

// parseTimes parses RFC 3339 fields, collecting 422 messages for bad ones.
func parseTimes(v *models.Validator, fields map[string]string) map[string]time.Time {
	out := map[string]time.Time{}
	for name, s := range fields {
		out[name], _ = parseTime(v, name, s)
	}
	return out
}

// CreateSurvey is POST /api/v1/surveys (bureau admin for a region of its
// subtree, school admin for its school).
func (h *API) CreateSurvey(c *fiber.Ctx) error {
	var in newSurveyRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var v models.Validator
	ts := parseTimes(&v, map[string]string{"opens_at": in.OpensAt, "closes_at": in.ClosesAt})
	if err := v.Err(); err != nil {
		return err
	}
	s, err := models.CreateSurvey(c.UserContext(), h.DB, CurrentActor(c), models.NewSurvey{
		RegionID: in.RegionID, SchoolID: in.SchoolID, TermID: in.TermID, Title: in.Title,
		OpensAt: ts["opens_at"], ClosesAt: ts["closes_at"]})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(NewSurveyDTO(s, h.now()))
}

// ListSurveys is GET /api/v1/surveys: a parent gets the open surveys that
// concern its children (one page); staff get the surveys of their scope,
// paged by ?cursor&limit.
func (h *API) ListSurveys(c *fiber.Ctx) error {
	a, now := CurrentActor(c), h.now()
	if a.Role == models.RoleParent {
		ps, err := models.OpenSurveysForParent(c.UserContext(), h.DB, a.UserID, now)
		if err != nil {
			return err
		}
		offset, limit, err := wholePageParams(c)
		if err != nil {
			return err
		}
		out := make([]SurveyDTO, 0, len(ps))
		for _, p := range ps {
			d := NewSurveyDTO(p.Survey, now)
			// Present for a parent even when empty ([] before any answer).
			d.StudentIDs, d.RespondedStudentIDs = &p.StudentIDs, &p.RespondedIDs
			out = append(out, d)
		}
		return c.JSON(offsetPage(out, offset, limit))
	}
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	ss, err := models.FindSurveysForStaff(c.UserContext(), h.DB, a, after, limit+1)
	if err != nil {
		return err
	}
	var next string
	ss, next = keysetPage(ss, limit, func(s models.Survey) int64 { return s.ID })
	out := make([]SurveyDTO, 0, len(ss))
	for _, s := range ss {
		out = append(out, NewSurveyDTO(s, now))
	}
	return c.JSON(Page[SurveyDTO]{Items: out, NextCursor: next})
}

type surveyResponseRequest struct {
	StudentID    int64  `json:"student_id"`
	Support      string `json:"support"`
	Satisfaction string `json:"satisfaction"`
	Comment      string `json:"comment"`
}

// SurveyResponseDTO is a parent's own answer.
type SurveyResponseDTO struct {
	ID           int64  `json:"id"`
	SurveyID     int64  `json:"survey_id"`
	StudentID    int64  `json:"student_id"`
	Support      string `json:"support"`
	Satisfaction string `json:"satisfaction"`
	Comment      string `json:"comment"`
	CreatedAt    string `json:"created_at"`
}

// RespondSurvey is POST /api/v1/surveys/{id}/responses (a linked guardian).
func (h *API) RespondSurvey(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in surveyResponseRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := models.RespondSurvey(c.UserContext(), h.DB, CurrentActor(c), models.NewSurveyResponse{
		SurveyID: id, StudentID: in.StudentID, Support: in.Support, Satisfaction: in.Satisfaction, Comment: in.Comment}, h.now())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(SurveyResponseDTO{ID: r.ID, SurveyID: r.SurveyID, StudentID: r.StudentID,
		Support: r.Support, Satisfaction: r.Satisfaction, Comment: r.Comment, CreatedAt: rfc3339(r.CreatedAt)})
}
