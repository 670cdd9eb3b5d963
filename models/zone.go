package models

import "time"

// Zone is Asia/Shanghai, the zone kehou's people live in: the product's
// clock — today's date for sessions, leave, terms and snapshots, job
// schedules, the times in answers and messages.
var Zone = mustLoadShanghai()

// LocalDate is the date (YYYY-MM-DD) of instant t in Zone: "today" for
// every rule that speaks of days.
func LocalDate(t time.Time) string { return t.In(Zone).Format(time.DateOnly) }

func mustLoadShanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// Without tzdata on the host: China has had no DST since 1991.
		return time.FixedZone("Asia/Shanghai", 8*3600)
	}
	return loc
}
