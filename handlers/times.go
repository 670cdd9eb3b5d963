package handlers

import (
	"time"

	"kehou/models"
)

// rfc3339 formats an instant of an answer: RFC 3339 in Asia/Shanghai
// (+08:00), as people in China read times (SPEC); "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(models.Zone).Format(time.RFC3339)
}

// rfc3339Nano is rfc3339 with the fraction of a second (job runs, whose
// durations are short).
func rfc3339Nano(t time.Time) string {
	return t.In(models.Zone).Format(time.RFC3339Nano)
}
