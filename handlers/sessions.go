package handlers

import (
	"encoding/base64"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// SessionDTO is a session in API answers. offering is its club's summary
// (the shape enrollments use); offering_name and offering_kind repeat two
// of its fields for older clients.
type SessionDTO struct {
	ID            int64               `json:"id"`
	OfferingID    int64               `json:"offering_id"`
	Offering      *OfferingSummaryDTO `json:"offering,omitempty"`
	OfferingName  string              `json:"offering_name"`
	OfferingKind  string              `json:"offering_kind"`
	Venue         string              `json:"venue"`
	Date          string              `json:"date"`
	StartTime     string              `json:"start_time"`
	EndTime       string              `json:"end_time"`
	StartsAt      string              `json:"starts_at"`
	Status        string              `json:"status"`
	State         string              `json:"state"`
	CancelReason  string              `json:"cancel_reason,omitempty"`
	RollTakenAt   *string             `json:"roll_taken_at"`
	TeacherUserID *int64              `json:"teacher_user_id"`
}

// NewSessionDTO maps a session to its DTO; state is what became of it by
// now (models.SessionState).
func NewSessionDTO(s models.SessionView, now time.Time) SessionDTO {
	d := SessionDTO{ID: s.ID, OfferingID: s.OfferingID, OfferingName: s.OfferingName, OfferingKind: s.OfferingKind,
		Venue: s.Venue, Date: s.Date, StartTime: models.FormatClock(s.StartMin), EndTime: models.FormatClock(s.EndMin),
		StartsAt: rfc3339(s.StartsAt()), Status: s.Status, State: models.SessionState(s.Session, now), CancelReason: s.CancelReason, TeacherUserID: s.TeacherUserID}
	if s.RollTakenAt != nil {
		d.RollTakenAt = ptr(rfc3339(*s.RollTakenAt))
	}
	return d
}

// sessionPage maps one page of sessions; the finder answered one more than
// limit when there is a next page, whose cursor key names the last one kept.
// Each names its club by the offering summary (one query for the page).
func (h *API) sessionPage(c *fiber.Ctx, ss []models.SessionView, limit int, key func(models.SessionView) string) (Page[SessionDTO], error) {
	ss, next := keysetPageBy(ss, limit, key)
	out := Page[SessionDTO]{Items: make([]SessionDTO, 0, len(ss)), NextCursor: next}
	ids := make([]int64, 0, len(ss))
	for _, s := range ss {
		ids = append(ids, s.OfferingID)
	}
	sums, err := models.FindOfferingSummaries(c.UserContext(), h.DB, ids)
	if err != nil {
		return out, err
	}
	now := h.now()
	for _, s := range ss {
		d := NewSessionDTO(s, now)
		if o, ok := sums[s.OfferingID]; ok {
			d.Offering = ptr(NewOfferingSummaryDTO(o))
		}
		out.Items = append(out.Items, d)
	}
	return out, nil
}

// sessionPaging reads ?cursor&limit of a sessions list (the page sizes of
// every list, page.go); the cursor is the last key sent.
func sessionPaging(c *fiber.Ctx) (models.Paging, error) {
	var p models.Paging
	var err error
	if p.Limit, err = pageLimit(c); err != nil {
		return p, err
	}
	p.After, err = openCursor(c.Query("cursor"))
	return p, err
}

// opaqueCursor and openCursor make a list position opaque to clients (the
// same encoding as pageParams' id cursors).
func opaqueCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func openCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", BadRequest("bad_cursor", "cursor 无效")
	}
	return string(b), nil
}

// dateQuery reads an optional YYYY-MM-DD query parameter.
func dateQuery(c *fiber.Ctx, name string) (string, error) {
	s := c.Query(name)
	if s == "" {
		return "", nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", BadRequest("bad_param", "查询参数 "+name+" 须为 YYYY-MM-DD 日期")
	}
	return s, nil
}

// ListOfferingSessions is GET /api/v1/offerings/{id}/sessions?from&to (staff,
// linked parents): the offering's sessions by date, one page.
func (h *API) ListOfferingSessions(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	from, err := dateQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := dateQuery(c, "to")
	if err != nil {
		return err
	}
	p, err := sessionPaging(c)
	if err != nil {
		return err
	}
	ss, err := models.FindOfferingSessions(c.UserContext(), h.DB, CurrentActor(c), id, from, to, p)
	if err != nil {
		return err
	}
	out, err := h.sessionPage(c, ss, p.Limit, func(s models.SessionView) string { return s.Date })
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// MySessions is GET /api/v1/me/sessions?date (teacher, school admin): the
// sessions to mark that day (default today, Asia/Shanghai), by start time,
// paged by ?cursor&limit.
func (h *API) MySessions(c *fiber.Ctx) error {
	date, err := dateQuery(c, "date")
	if err != nil {
		return err
	}
	if date == "" {
		date = models.LocalDate(h.now())
	}
	p, err := sessionPaging(c)
	if err != nil {
		return err
	}
	ss, err := models.FindMySessions(c.UserContext(), h.DB, CurrentActor(c), date, p)
	if err != nil {
		return err
	}
	out, err := h.sessionPage(c, ss, p.Limit, models.MySessionsCursor)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

type cancelSessionRequest struct {
	Reason string `json:"reason"`
}

// CancelSession is POST /api/v1/sessions/{id}/cancel (school admin):
// {reason}; the families on the roll are notified.
func (h *API) CancelSession(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in cancelSessionRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	s, err := models.CancelSession(c.UserContext(), h.DB, CurrentActor(c), id, in.Reason, h.now())
	if err != nil {
		return err
	}
	d := NewSessionDTO(s, h.now())
	if o, err := models.FindOfferingSummary(c.UserContext(), h.DB, s.OfferingID); err == nil {
		d.Offering = ptr(NewOfferingSummaryDTO(o))
	}
	return c.JSON(d)
}

// calendarRequest is the body of PUT …/terms/{term_id}/calendar.
type calendarRequest struct {
	NoServiceDays []string          `json:"no_service_days"`
	ExtraDays     []models.ExtraDay `json:"extra_days"`
}

// SetTermCalendar is PUT /api/v1/schools/{id}/terms/{term_id}/calendar
// (school admin): replaces the term's no-service and extra days and brings
// the future sessions of its offerings in step.
func (h *API) SetTermCalendar(c *fiber.Ctx) error {
	id, termID, err := schoolTermIDs(c)
	if err != nil {
		return err
	}
	var in calendarRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := models.SetTermCalendar(c.UserContext(), h.DB, CurrentActor(c), id, termID,
		models.TermCalendar{NoServiceDays: in.NoServiceDays, ExtraDays: in.ExtraDays}, h.now())
	if err != nil {
		return err
	}
	return h.termAnswer(c, fiber.StatusOK, t)
}
