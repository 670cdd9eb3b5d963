package models

import "time"

// SetStatsTrace lets tests time each step of ComputeStats.
func SetStatsTrace(f func(step string, d time.Duration)) { statsTrace = f }
