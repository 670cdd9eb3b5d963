package models

import (
	"context"
	"hash/fnv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// How a run started, and how it ended.
const (
	TriggerScheduled = "scheduled"
	TriggerManual    = "manual"

	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunSkipped   = "skipped"
)

// JobRun is the record of one run of a job.
type JobRun struct {
	ID        int64      `gorm:"primaryKey"`
	Name      string     `gorm:"column:name"`
	Trigger   string     `gorm:"column:trigger"`
	Instance  string     `gorm:"column:instance"`
	Slot      string     `gorm:"column:slot"`
	StartedAt time.Time  `gorm:"column:started_at"`
	EndedAt   *time.Time `gorm:"column:ended_at"`
	Status    string     `gorm:"column:status"`
	Error     string     `gorm:"column:error"`
	Rows      int64      `gorm:"column:rows_written"`
}

// TableName maps JobRun to job_runs.
func (JobRun) TableName() string { return "job_runs" }

// StartJobRun records the start of a run (status running, or skipped with a
// reason when status is RunSkipped).
func StartJobRun(ctx context.Context, db *DB, r JobRun) (JobRun, error) {
	r.StartedAt = r.StartedAt.UTC()
	if r.Status == "" {
		r.Status = RunRunning
	}
	if r.Status != RunRunning && r.EndedAt == nil {
		end := r.StartedAt
		r.EndedAt = &end
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&r).Error })
	return r, err
}

// FinishJobRun records the end of run r: status, error text and rows.
func FinishJobRun(ctx context.Context, db *DB, r *JobRun, status string, runErr string, rows int64, end time.Time) error {
	end = end.UTC()
	r.Status, r.Error, r.Rows, r.EndedAt = status, runErr, rows, &end
	return db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&JobRun{}).Where("id = ?", r.ID).
			Updates(map[string]any{"status": status, "error": runErr, "rows_written": rows, "ended_at": end}).Error
	})
}

// FindJobRuns lists the most recent runs, newest first (by id: a run's row
// is written when it starts), of job name (all jobs when name is empty),
// with ids below before (0: from the newest).
func FindJobRuns(ctx context.Context, db *DB, name string, before int64, limit int) ([]JobRun, error) {
	q := db.Read(ctx).Order("id DESC").Limit(limit)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if name != "" {
		q = q.Where("name = ?", name)
	}
	out := []JobRun{}
	err := q.Find(&out).Error
	return out, err
}

// ClaimJobSlot claims the scheduled slot (name, slot) for instance. Exactly
// one caller per slot gets true, however many instances fire it: the claim
// is a row inserted with ON CONFLICT DO NOTHING.
func ClaimJobSlot(ctx context.Context, db *DB, name, slot, instance string, now time.Time) (bool, error) {
	var won bool
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("INSERT INTO job_slots (name, slot, instance, claimed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			name, slot, instance, now.UTC())
		won = res.RowsAffected == 1
		return res.Error
	})
	return won, err
}

// JobLock is a held cross-process lock on one job; Release frees it.
type JobLock struct {
	release func()
}

// Release frees the lock. It is safe to call more than once.
func (l *JobLock) Release() {
	if l != nil && l.release != nil {
		l.release()
		l.release = nil
	}
}

// jobLockKey is the advisory-lock key of job name: a 64-bit FNV hash under
// a fixed namespace so it cannot meet the migration lock.
func jobLockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("kehou.job:" + name))
	return int64(h.Sum64() >> 1)
}

// TryJobLock takes the cross-process lock of job name, or answers ok=false
// when another holder has it. On PostgreSQL it is pg_try_advisory_lock on a
// dedicated connection held until Release (so a crashed process frees it
// with its session); on SQLite it is a lease row in job_locks, valid for
// lease and renewed every lease/3 while held, which a crashed holder loses
// when it expires.
func TryJobLock(ctx context.Context, db *DB, name, holder string, lease time.Duration, now time.Time) (*JobLock, bool, error) {
	if db.Dialect == Postgres {
		sqlDB, err := db.W.DB()
		if err != nil {
			return nil, false, err
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return nil, false, err
		}
		key := jobLockKey(name)
		var got bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			_ = conn.Close()
			return nil, false, err
		}
		if !got {
			_ = conn.Close()
			return nil, false, nil
		}
		return &JobLock{release: func() {
			_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key)
			_ = conn.Close()
		}}, true, nil
	}
	var got bool
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "name"}},
			DoUpdates: clause.Assignments(map[string]any{"holder": holder, "expires_at": now.Add(lease).UTC()}),
			Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "job_locks.expires_at < ?", Vars: []any{now.UTC()}}}},
		}).Table("job_locks").Create(map[string]any{"name": name, "holder": holder, "expires_at": now.Add(lease).UTC()})
		got = res.RowsAffected == 1
		return res.Error
	})
	if err != nil || !got {
		return nil, false, err
	}
	// Renew the lease while the job runs, so a long run keeps it and a
	// crashed holder loses it soon after.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = db.Tx(context.Background(), func(tx *gorm.DB) error {
					return tx.Exec("UPDATE job_locks SET expires_at = ? WHERE name = ? AND holder = ?",
						time.Now().Add(lease).UTC(), name, holder).Error
				})
			}
		}
	}()
	return &JobLock{release: func() {
		close(stop)
		<-done
		_ = db.Tx(context.Background(), func(tx *gorm.DB) error {
			return tx.Exec("DELETE FROM job_locks WHERE name = ? AND holder = ?", name, holder).Error
		})
	}}, true, nil
}
