package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"kehou/models"
)

// JobRunner runs a named job now and answers its run record (jobs.Runner).
type JobRunner interface {
	RunNow(ctx context.Context, name string) (models.JobRun, error)
}

// JobRunDTO is a job run in API answers: SPEC's run record (start, end,
// status, error), with error null unless the run failed. Slot (a scheduled
// run's minute, "YYYY-MM-DDTHH:MM") and the times are all Asia/Shanghai.
type JobRunDTO struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Trigger    string  `json:"trigger"`
	Instance   string  `json:"instance"`
	Slot       string  `json:"slot,omitempty"`
	Status     string  `json:"status"`
	StartedAt  string  `json:"started_at"`
	EndedAt    *string `json:"ended_at"`
	DurationMS *int64  `json:"duration_ms"`
	Error      *string `json:"error"`
	Rows       int64   `json:"rows"`
}

// NewJobRunDTO maps a run to its DTO.
func NewJobRunDTO(r models.JobRun) JobRunDTO {
	d := JobRunDTO{ID: r.ID, Name: r.Name, Trigger: r.Trigger, Instance: r.Instance, Slot: r.Slot,
		Status: r.Status, StartedAt: rfc3339Nano(r.StartedAt), Rows: r.Rows}
	if r.Error != "" {
		d.Error = ptr(r.Error)
	}
	if r.EndedAt != nil {
		d.EndedAt = ptr(rfc3339Nano(*r.EndedAt))
		d.DurationMS = ptr(r.EndedAt.Sub(r.StartedAt).Milliseconds())
	}
	return d
}

// RunJob is POST /api/v1/jobs/{name}/run (platform admin): runs the job now,
// synchronously, and answers its run record (status failed if the job failed).
func (h *API) RunJob(c *fiber.Ctx) error {
	if h.Jobs == nil {
		return models.ErrUnavailable
	}
	// A job runs to its end once started (a province's stats take
	// minutes): the request's deadline does not cut it short.
	run, err := h.Jobs.RunNow(context.WithoutCancel(c.UserContext()), c.Params("name"))
	if err != nil {
		return err
	}
	return c.JSON(NewJobRunDTO(run))
}

// ListJobRuns is GET /api/v1/jobs/runs?name&cursor&limit (platform admin):
// the most recent runs, newest first.
func (h *API) ListJobRuns(c *fiber.Ctx) error {
	before, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	runs, err := models.FindJobRuns(c.UserContext(), h.DB, c.Query("name"), before, limit+1)
	if err != nil {
		return err
	}
	var next string
	runs, next = keysetPage(runs, limit, func(r models.JobRun) int64 { return r.ID })
	out := make([]JobRunDTO, 0, len(runs))
	for _, r := range runs {
		out = append(out, NewJobRunDTO(r))
	}
	return c.JSON(Page[JobRunDTO]{Items: out, NextCursor: next})
}
