package models_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kehou/models"
	"kehou/models/modelstest"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(level string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), `"level":"`+level+`"`)
}

// TestStorageFull: a write refused for want of space (a real one on
// SQLite, SQLSTATE 53100 on PostgreSQL; see modelstest.FillStorage) is
// ErrStorageFull; the handle is marked full with one error line however
// many writes fail, CheckStorage answers ErrStorageFull while a write still
// fails, and clears the mark (one line more) once space is back; the
// enrollment then succeeds.
func TestStorageFull(t *testing.T) {
	ctx := context.Background()
	db := modelstest.MustOpenDB(t)
	var logs lockedBuffer
	db.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	db.StorageProbeEvery = time.Nanosecond // every CheckStorage probes
	school := modelstest.School(t, db, modelstest.Region(t, db, nil).ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, school.ID, 0)
	term := modelstest.Term(t, db, admin, school.ID, 2)
	o := modelstest.Offering(t, db, admin, term, nil)
	st := modelstest.Student(t, db, school.ID, 3, "")
	in := models.NewEnrollment{Actor: admin.Actor(), StudentID: st.ID, OfferingID: o.ID, IdempotencyKey: "full-1"}

	restore := modelstest.FillStorage(t, db)
	for range 3 {
		_, err := models.Enroll(ctx, db, in)
		if !errors.Is(err, models.ErrStorageFull) {
			t.Fatalf("enroll on a full disk: %v, want ErrStorageFull", err)
		}
	}
	if !db.StorageFull() || db.StorageFullWrites() < 3 {
		t.Fatalf("StorageFull %v after %d refused writes", db.StorageFull(), db.StorageFullWrites())
	}
	if n := logs.lines("ERROR"); n != 1 {
		t.Fatalf("%d error lines for one full disk, want 1:\n%s", n, logs.b.String())
	}
	if err := db.CheckStorage(ctx); !errors.Is(err, models.ErrStorageFull) {
		t.Fatalf("CheckStorage on a full disk: %v", err)
	}
	restore()
	if err := db.CheckStorage(ctx); err != nil || db.StorageFull() {
		t.Fatalf("CheckStorage with space back: %v (full %v)", err, db.StorageFull())
	}
	if n := logs.lines("INFO"); n != 1 {
		t.Fatalf("%d lines for the recovery, want 1:\n%s", n, logs.b.String())
	}
	e, err := models.Enroll(ctx, db, in)
	if err != nil || e.Status != models.StatusEnrolled {
		t.Fatalf("enroll once space is back: %+v %v", e, err)
	}
	modelstest.CheckInvariants(t, db)
}
