package models

import "context"

// RefreshPlannerStats re-analyses, on SQLite, the tables that grew or
// shrank much since their planner statistics were taken (PRAGMA optimize
// as at open: every table, sampling bounded by analysis_limit). A process
// that grows tables by orders of magnitude within one run — a seed — calls
// it so statistics taken while a table held two rows do not steer later
// statements (a join that scans 2,700 parent links for every guardian it
// notifies). On PostgreSQL, autovacuum keeps them: it does nothing.
func RefreshPlannerStats(ctx context.Context, db *DB) error {
	if db.Dialect != SQLite {
		return nil
	}
	return db.W.WithContext(ctx).Exec("PRAGMA optimize = 0x10002").Error
}
