package models

import (
	"sync"
	"sync/atomic"
)

// Dashboards read stat_snapshots only, and only ComputeStats writes them, so
// an answer built from the snapshots stays right until the next run. The
// snapshot version lets a reader cache such answers: it counts the snapshot
// writes this process made through a database handle, and moves after each
// of them has committed (or failed). A reader notes the version before its
// query and trusts the answer while the version has not moved. Writes by
// other processes on the same PostgreSQL are not seen here; a cache bounds
// how long it trusts an answer for them.

// snapshotVersions holds one counter per database handle (a process opens
// one; tests open many, each on its own database).
var snapshotVersions sync.Map // *DB → *atomic.Uint64

func snapshotCounter(db *DB) *atomic.Uint64 {
	if v, ok := snapshotVersions.Load(db); ok {
		return v.(*atomic.Uint64)
	}
	v, _ := snapshotVersions.LoadOrStore(db, new(atomic.Uint64))
	return v.(*atomic.Uint64)
}

// SnapshotVersion is the number of snapshot writes this process has finished
// on db (see above): an answer read from the snapshots while it stays the
// same has not been replaced by a write of this process.
func SnapshotVersion(db *DB) uint64 { return snapshotCounter(db).Load() }

// snapshotWritten moves db's snapshot version; called after a write to
// stat_snapshots has ended, committed or not.
func snapshotWritten(db *DB) { snapshotCounter(db).Add(1) }
