package handlers

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// RollEntryDTO is one child on a roll.
type RollEntryDTO struct {
	StudentID   int64            `json:"student_id"`
	StudentNo   string           `json:"student_no"`
	Name        string           `json:"name"`
	Grade       int              `json:"grade"`
	Class       string           `json:"class"`
	Status      *string          `json:"status"`
	Marked      bool             `json:"marked"`
	Leave       *LeaveRequestDTO `json:"leave"`
	DismissedBy *string          `json:"dismissed_by"`
	DismissedAt *string          `json:"dismissed_at"`
}

// RollDTO is a session's roll: the session, where its roll stands on the
// server's clock (models.RollWindow), and its children in the list format
// (one page).
type RollDTO struct {
	Session    SessionDTO     `json:"session"`
	Window     string         `json:"window"`
	Items      []RollEntryDTO `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// NewRollDTO maps a roll, at now, to its DTO.
func NewRollDTO(r models.Roll, now time.Time) RollDTO {
	out := RollDTO{Session: NewSessionDTO(r.Session, now), Window: models.RollWindow(r.Session.Session, now),
		Items: make([]RollEntryDTO, 0, len(r.Entries))}
	for _, e := range r.Entries {
		d := RollEntryDTO{StudentID: e.StudentID, StudentNo: e.StudentNo, Name: e.Name, Grade: e.Grade,
			Class: e.ClassName, Status: e.Status, Marked: e.Marked}
		if e.Leave != nil {
			d.Leave = ptr(NewLeaveRequestDTO(*e.Leave))
		}
		if e.DismissedAt != nil {
			d.DismissedBy, d.DismissedAt = ptr(e.DismissedBy), ptr(rfc3339(*e.DismissedAt))
		}
		out.Items = append(out.Items, d)
	}
	return out
}

// Roll is GET /api/v1/sessions/{id}/roll (the session's teacher, the
// school's admin).
func (h *API) Roll(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	r, err := models.FindRoll(c.UserContext(), h.DB, CurrentActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(NewRollDTO(r, h.now()))
}

type markRequest struct {
	Records []struct {
		StudentID int64  `json:"student_id"`
		Status    string `json:"status"`
	} `json:"records"`
	Reason string `json:"reason"`
}

// MarkAttendance is PUT /api/v1/sessions/{id}/attendance (the session's
// teacher, the school's admin): {records:[{student_id,status}], reason?} →
// the roll. The whole roll or part of it; the same PUT twice changes
// nothing.
func (h *API) MarkAttendance(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in markRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	recs := make([]models.MarkRecord, len(in.Records))
	var v models.Validator
	for i, r := range in.Records {
		v.Check(r.StudentID > 0, fmt.Sprintf("records[%d].student_id", i), "student_id 须为正整数")
		recs[i] = models.MarkRecord{StudentID: r.StudentID, Status: r.Status}
	}
	if err := v.Err(); err != nil {
		return err
	}
	r, err := models.MarkAttendance(c.UserContext(), h.DB, CurrentActor(c), id, recs, in.Reason, h.now())
	if err != nil {
		return err
	}
	return c.JSON(NewRollDTO(r, h.now()))
}

// AttendanceChangeDTO is one entry of a roll's audit trail.
type AttendanceChangeDTO struct {
	ID          int64   `json:"id"`
	StudentID   int64   `json:"student_id"`
	StudentName string  `json:"student_name"`
	OldStatus   *string `json:"old_status"`
	NewStatus   string  `json:"new_status"`
	ChangedBy   int64   `json:"changed_by"`
	ChangerName string  `json:"changed_by_name"`
	Reason      string  `json:"reason"`
	ChangedAt   string  `json:"changed_at"`
}

// AttendanceChanges is GET /api/v1/sessions/{id}/attendance/changes (the
// session's teacher, the school's admin): every change of the roll, oldest
// first, paged by ?cursor&limit.
func (h *API) AttendanceChanges(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	cs, err := models.FindAttendanceChanges(c.UserContext(), h.DB, CurrentActor(c), id, after, limit)
	if err != nil {
		return err
	}
	cs, next := keysetPage(cs, limit, func(x models.AttendanceChange) int64 { return x.ID })
	out := Page[AttendanceChangeDTO]{Items: make([]AttendanceChangeDTO, 0, len(cs)), NextCursor: next}
	for _, x := range cs {
		out.Items = append(out.Items, AttendanceChangeDTO{ID: x.ID, StudentID: x.StudentID, StudentName: x.StudentName,
			OldStatus: x.OldStatus, NewStatus: x.NewStatus, ChangedBy: x.ChangedBy, ChangerName: x.ChangerName,
			Reason: x.Reason, ChangedAt: rfc3339(x.ChangedAt)})
	}
	return c.JSON(out)
}

type dismissalRequest struct {
	Records []struct {
		StudentID int64   `json:"student_id"`
		By        string  `json:"by"`
		At        *string `json:"at"`
	} `json:"records"`
	Reason string `json:"reason"`
}

// DismissalDTO is how and when one child left.
type DismissalDTO struct {
	StudentID   int64  `json:"student_id"`
	StudentName string `json:"student_name"`
	By          string `json:"by"`
	At          string `json:"at"`
	RecordedBy  int64  `json:"recorded_by"`
}

// RecordDismissal is POST /api/v1/sessions/{id}/dismissal (the session's
// teacher, the school's admin): {records:[{student_id,by,at?}], reason?} →
// the session's dismissals; on the session's day the guardians of a child
// dismissed for the first time get "已离校".
func (h *API) RecordDismissal(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in dismissalRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	recs := make([]models.DismissalRecord, len(in.Records))
	var v models.Validator
	for i, r := range in.Records {
		v.Check(r.StudentID > 0, fmt.Sprintf("records[%d].student_id", i), "student_id 须为正整数")
		recs[i] = models.DismissalRecord{StudentID: r.StudentID, By: r.By}
		if r.At != nil {
			if t, ok := parseTime(&v, fmt.Sprintf("records[%d].at", i), *r.At); ok {
				recs[i].At = &t
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	ds, err := models.RecordDismissal(c.UserContext(), h.DB, CurrentActor(c), id, recs, in.Reason, h.now())
	if err != nil {
		return err
	}
	out := Page[DismissalDTO]{Items: make([]DismissalDTO, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, DismissalDTO{StudentID: d.StudentID, StudentName: d.StudentName, By: d.By,
			At: rfc3339(d.At), RecordedBy: d.RecordedBy})
	}
	return c.JSON(out)
}

// DismissalChangeDTO is one entry of a session's dismissal history.
type DismissalChangeDTO struct {
	ID          int64   `json:"id"`
	StudentID   int64   `json:"student_id"`
	StudentName string  `json:"student_name"`
	OldBy       *string `json:"old_by"`
	OldAt       *string `json:"old_at"`
	NewBy       string  `json:"new_by"`
	NewAt       string  `json:"new_at"`
	ChangedBy   int64   `json:"changed_by"`
	ChangerName string  `json:"changed_by_name"`
	Reason      string  `json:"reason"`
	ChangedAt   string  `json:"changed_at"`
}

// DismissalChanges is GET /api/v1/sessions/{id}/dismissal/changes (the
// session's teacher, the school's admin): every change of the session's
// dismissals, oldest first, paged by ?cursor&limit.
func (h *API) DismissalChanges(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	cs, err := models.FindDismissalChanges(c.UserContext(), h.DB, CurrentActor(c), id, after, limit)
	if err != nil {
		return err
	}
	cs, next := keysetPage(cs, limit, func(x models.DismissalChange) int64 { return x.ID })
	out := Page[DismissalChangeDTO]{Items: make([]DismissalChangeDTO, 0, len(cs)), NextCursor: next}
	for _, x := range cs {
		d := DismissalChangeDTO{ID: x.ID, StudentID: x.StudentID, StudentName: x.StudentName, OldBy: x.OldBy,
			NewBy: x.NewBy, NewAt: rfc3339(x.NewAt), ChangedBy: x.ChangedBy, ChangerName: x.ChangerName,
			Reason: x.Reason, ChangedAt: rfc3339(x.ChangedAt)}
		if x.OldAt != nil {
			d.OldAt = ptr(rfc3339(*x.OldAt))
		}
		out.Items = append(out.Items, d)
	}
	return c.JSON(out)
}
