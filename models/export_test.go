package models

import "time"

// SetStatsTrace lets tests time each step of ComputeStats.
func SetStatsTrace(f func(step string, d time.Duration)) { statsTrace = f }

// SoldOutCached reports whether offering id is cached as sold out and fresh.
func SoldOutCached(db *DB, id int64) bool {
	db.cache.mu.RLock()
	defer db.cache.mu.RUnlock()
	e, ok := db.cache.soldOut[id]
	return ok && e.ver == db.cache.offers.Load() && time.Since(e.at) < soldOutTTL
}
