package models

import (
	"database/sql"
	"encoding/json"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite's part of the enrollment batches (enroll_batch.go). The batch runs
// on the single writer inside BEGIN IMMEDIATE, so what it reads cannot
// change before it commits: no row locks, and ids are the next rowids. The
// batch's rows go to each statement as one JSON array (json_each), so a
// statement's text, and its cached prepared statement, is the same for
// every batch: a statement costs the writer a few microseconds, a row
// written one at a time some fifty.

// readBatchSQLite reads the batch's students, their guardians' links and
// live enrollments, and the batch's offerings with their terms' max_clubs,
// and numbers n new enrollments after the last one.
func readBatchSQLite(r raw, sids, oids []int64, n int) (batchFacts, error) {
	f := newBatchFacts(len(sids), len(oids))
	sj, err := json.Marshal(sids)
	if err != nil {
		return f, err
	}
	oj, err := json.Marshal(oids)
	if err != nil {
		return f, err
	}
	err = r.each("SELECT "+studentFactColumns+" FROM students WHERE id IN (SELECT value FROM json_each(?))",
		[]any{string(sj)}, f.scanStudent)
	if err != nil {
		return f, err
	}
	err = r.each("SELECT user_id, student_id FROM parent_students WHERE student_id IN (SELECT value FROM json_each(?))",
		[]any{string(sj)}, func(rows *sql.Rows) error {
			var l guardianLink
			if err := rows.Scan(&l.user, &l.student); err != nil {
				return err
			}
			f.links[l] = true
			return nil
		})
	if err != nil {
		return f, err
	}
	err = r.each(`SELECT e.student_id, e.term_id, e.offering_id, e.status, e.rank, o.kind, o.weekdays, o.start_min, o.end_min
		FROM enrollments e JOIN offerings o ON o.id = e.offering_id
		WHERE e.student_id IN (SELECT value FROM json_each(?)) AND e.status IN `+liveSQL,
		[]any{string(sj)}, func(rows *sql.Rows) error {
			var k studentTerm
			var h Held
			if err := rows.Scan(&k.student, &k.term, &h.OfferingID, &h.Status, &h.Rank, &h.Kind, &h.Weekdays, &h.StartMin, &h.EndMin); err != nil {
				return err
			}
			f.held[k] = append(f.held[k], h)
			return nil
		})
	if err != nil {
		return f, err
	}
	err = r.each(`SELECT `+offeringRowColumns+` FROM offerings o JOIN terms t ON t.id = o.term_id
		WHERE o.id IN (SELECT value FROM json_each(?))`, []any{string(oj)}, f.scanOffering)
	if err != nil {
		return f, err
	}
	var last int64
	if err := r.queryRow("SELECT COALESCE(MAX(id), 0) FROM enrollments").Scan(&last); err != nil {
		return f, err
	}
	f.ids = make([]int64, n)
	for i := range f.ids {
		f.ids[i] = last + 1 + int64(i)
	}
	return f, nil
}

// The batch's writes on SQLite, one statement per table, each over one
// JSON array of rows (enroll_facts.go names their columns).
var (
	zeroWrite           = &batchWrite{}
	sqliteCounters      = seatsTaken(sqliteRows(zeroWrite.counterColumns()))
	sqliteEnrollments   = enrollmentsInsert(sqliteRows(zeroWrite.enrollmentColumns()))
	sqliteConfirmations = guardianOutboxInsert(sqliteRows(zeroWrite.noteColumns()), "v.kind", "?")
	sqliteAnswers       = answersInsert(sqliteRows(zeroWrite.answerColumns()))
)

// sqliteTime is t as the driver stores a time.Time parameter, so rows
// written from JSON read back (and compare as text) like any other.
func sqliteTime(t time.Time) string { return t.Format(sqlite3.SQLiteTimestampFormats[0]) }

// writeBatchSQLite writes w and returns the Idempotency-Key answers stored
// and the offerings whose counters moved.
func writeBatchSQLite(r raw, w *batchWrite, now time.Time) (stored, moved int, err error) {
	counters, err := sqliteJSON(w.counterColumns())
	if err != nil {
		return 0, 0, err
	}
	m, err := r.affected(sqliteCounters, counters)
	if err != nil {
		return 0, 0, err
	}
	enrollments, err := sqliteJSON(w.enrollmentColumns())
	if err != nil {
		return 0, 0, err
	}
	if _, err := r.exec(sqliteEnrollments, enrollments); err != nil {
		return 0, 0, err
	}
	if len(w.noteStudent) > 0 {
		notes, err := sqliteJSON(w.noteColumns())
		if err != nil {
			return 0, 0, err
		}
		at := sqliteTime(now)
		if _, err := r.exec(sqliteConfirmations, at, at, notes); err != nil {
			return 0, 0, err
		}
	}
	if len(w.answerUser) == 0 {
		return 0, int(m), nil
	}
	answers, err := sqliteJSON(w.answerColumns())
	if err != nil {
		return 0, 0, err
	}
	n, err := r.affected(sqliteAnswers, answers)
	return int(n), int(m), err
}

// The held seats' orders and first ledger rows on SQLite (openBatchOrders):
// the orders answer their ids; the ledger rows find their order by its
// enrollment (orders.enrollment_id is unique).
var (
	sqliteOrders = ordersInsert(sqliteRows(zeroWrite.orderColumns()))
	sqliteLedger = ledgerInsert(sqliteRows(zeroWrite.ledgerColumns()), "orders")
)

// writeOrdersSQLite writes w's orders and ledger rows and returns each
// order's id by its enrollment.
func writeOrdersSQLite(r raw, w *batchWrite) (map[int64]int64, error) {
	orders, err := sqliteJSON(w.orderColumns())
	if err != nil {
		return nil, err
	}
	ids := make(map[int64]int64, len(w.orderEnrollment))
	err = r.each(sqliteOrders, []any{orders}, func(rows *sql.Rows) error {
		var id, enrollment, school int64
		if err := rows.Scan(&id, &enrollment, &school); err != nil {
			return err
		}
		ids[enrollment] = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	moves, err := sqliteJSON(w.ledgerColumns())
	if err != nil {
		return nil, err
	}
	_, err = r.exec(sqliteLedger, moves)
	return ids, err
}
