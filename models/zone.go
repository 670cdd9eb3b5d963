package models

import "time"

// StatsZone is Asia/Shanghai, the zone kehou's people live in: of survey
// dates, snapshot dates, job schedules and the times in answers.
var StatsZone = mustLoadShanghai()

func mustLoadShanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// Without tzdata on the host: China has had no DST since 1991.
		return time.FixedZone("Asia/Shanghai", 8*3600)
	}
	return loc
}
