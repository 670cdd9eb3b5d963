package models

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// What erasing a child does, table by table. ErasureRules is the one list:
// every table with a student_id column is in it (a test reads the schema of
// each engine and fails on a table that is not), and every text column of
// those tables is either rewritten by its statements or named in Keeps —
// codes, dates and statuses the statistics count, none of them free text.
// A new table or text column that holds a child's data therefore cannot
// ship without saying what erasure does with it.

// ErasureRule is what ConfirmDeletion does to the rows of one table that
// belong to the erased child.
type ErasureRule struct {
	// Table is the table; its rows of the child are those whose
	// student_id is the child (students: whose id is).
	Table string
	// Does says what happens, for docs and for the test's messages.
	Does string
	// Deletes is true when the child's rows are deleted outright.
	Deletes bool
	// Erases names the text columns the statements blank or rewrite.
	Erases []string
	// Keeps names the text columns left as they were (not free text).
	Keeps []string
	// SQL are the statements, with the named parameters @student (the
	// child), @erased (the erased guardian's user id), @now, and
	// @named_mid and @named_end (LIKE patterns of a JSON body naming the
	// child's id).
	SQL []string
}

// erasedOpenID is the openid of the erased guardian: no WeChat openid has
// this form, so nobody logs in as it.
const erasedOpenID = "kehou:erased"

// ErasureRules lists, in the order they run, the tables that hold a child's
// rows and what erasure does with each.
var ErasureRules = []ErasureRule{
	{Table: "students", Does: "name, number, gender and the waiver's reason (disability, dibao…) erased; the waiver itself kept for the finance figures; inactive, so the child leaves the figures from then on",
		Erases: []string{"name", "student_no", "gender", "waiver_reason"},
		Keeps:  []string{"class_name", "fee_waiver"},
		SQL: []string{`UPDATE students SET name = '` + ErasedName + `', student_no = 'erased-' || CAST(id AS TEXT),
			gender = '', waiver_reason = '', active = @false, updated_at = @now WHERE id = @student`}},
	// Before parent_students goes: it names the parents whose replayable
	// answers may carry the child's id.
	{Table: "idempotency_keys", Does: "stored enrollment answers of the child's guardians that name the child deleted",
		Deletes: true,
		SQL: []string{`DELETE FROM idempotency_keys WHERE user_id IN (SELECT user_id FROM parent_students WHERE student_id = @student)
			AND (body LIKE @named_mid OR body LIKE @named_end)`}},
	{Table: "guardians", Does: "deleted (names, phones, relationships)", Deletes: true,
		SQL: []string{"DELETE FROM guardians WHERE student_id = @student"}},
	{Table: "parent_students", Does: "deleted: no account is linked to the child any more", Deletes: true,
		SQL: []string{"DELETE FROM parent_students WHERE student_id = @student"}},
	{Table: "binding_codes", Does: "deleted", Deletes: true,
		SQL: []string{"DELETE FROM binding_codes WHERE student_id = @student"}},
	{Table: "outbox", Does: "deleted, sent or not: payloads name the child, dedupe keys pair it with a parent", Deletes: true,
		SQL: []string{"DELETE FROM outbox WHERE student_id = @student"}},
	{Table: "enrollments", Does: "kept for the statistics; the applying or withdrawing guardian becomes the erased guardian",
		Keeps: []string{"status", "withdraw_reason"},
		SQL: []string{
			"UPDATE enrollments SET applied_by = @erased WHERE student_id = @student AND applied_by IN (SELECT id FROM users WHERE role = 'parent')",
			"UPDATE enrollments SET withdrawn_by = @erased WHERE student_id = @student AND withdrawn_by IN (SELECT id FROM users WHERE role = 'parent')",
		}},
	{Table: "attendance", Does: "marks kept for the statistics (recorded by staff)",
		Keeps: []string{"session_date", "status"}},
	{Table: "attendance_changes", Does: "kept (who of the staff changed which mark); the reasons, which may describe the child, blanked",
		Erases: []string{"reason"},
		Keeps:  []string{"session_date", "old_status", "new_status"},
		SQL:    []string{"UPDATE attendance_changes SET reason = '' WHERE student_id = @student"}},
	{Table: "dismissals", Does: "kept: how and when the child left, recorded by staff, no free text",
		Keeps: []string{"dismissed_by"}},
	{Table: "dismissal_changes", Does: "kept (who of the staff changed how the child left); the reasons, which may describe the child, blanked",
		Erases: []string{"reason"},
		Keeps:  []string{"session_date", "old_by", "new_by"},
		SQL:    []string{"UPDATE dismissal_changes SET reason = '' WHERE student_id = @student"}},
	{Table: "leave_requests", Does: "reasons (health data) blanked, active requests cancelled, the filer becomes the erased guardian",
		Erases: []string{"reason", "status"},
		Keeps:  []string{"from_date", "to_date", "offering_ids"},
		SQL: []string{
			"UPDATE leave_requests SET status = 'cancelled', cancelled_at = @now WHERE student_id = @student AND status = 'active'",
			"UPDATE leave_requests SET reason = '', filed_by = @erased WHERE student_id = @student",
		}},
	{Table: "waiver_changes", Does: "kept (who of the staff changed the waiver, half or full); the reasons (disability, dibao…) blanked",
		Erases: []string{"old_reason", "new_reason"},
		Keeps:  []string{"old_waiver", "new_waiver", "source"},
		SQL:    []string{"UPDATE waiver_changes SET old_reason = '', new_reason = '' WHERE student_id = @student"}},
	{Table: "orders", Does: "kept: money is never erased (the bill as made and its status); the reasons written on its ledger rows and in the fee audit (a refund \"因病…\") blanked",
		Keeps: []string{"billing", "bills_from", "waiver", "status"},
		SQL: []string{
			"UPDATE fee_ledger SET reason = '' WHERE kind IN " + sqlList(ledgerReasonKinds) + " AND order_id IN (SELECT id FROM orders WHERE student_id = @student)",
			"UPDATE fee_audit SET detail = '' WHERE object IN (SELECT " + orderObjectSQL + " FROM orders WHERE student_id = @student)",
		}},
	{Table: "survey_responses", Does: "answers kept for the figures; comment blanked, the respondent becomes the erased guardian",
		Erases: []string{"comment"},
		Keeps:  []string{"support", "satisfaction"},
		SQL:    []string{"UPDATE survey_responses SET user_id = @erased, comment = '' WHERE student_id = @student"}},
	{Table: "deletion_requests", Does: "kept as the record of the erasure; the requester becomes the erased guardian, the reason blanked",
		Erases: []string{"reason"},
		Keeps:  []string{"status"},
		SQL:    []string{"UPDATE deletion_requests SET requested_by = @erased, reason = '' WHERE student_id = @student"}},
}

// erasedGuardian returns the id of the erased guardian, the one disabled
// parent account that stands in for a guardian on the rows the statistics
// keep, making it on first use.
func erasedGuardian(tx *gorm.DB, now time.Time) (int64, error) {
	if err := tx.Exec(`INSERT INTO users (role, display_name, openid, disabled, created_at, updated_at)
		VALUES ('parent', ?, ?, ?, ?, ?) ON CONFLICT (openid) DO NOTHING`, ErasedName, erasedOpenID, true, now, now).Error; err != nil {
		return 0, err
	}
	var erased int64
	if err := tx.Raw("SELECT id FROM users WHERE openid = ?", erasedOpenID).Scan(&erased).Error; err != nil {
		return 0, err
	}
	if erased == 0 {
		return 0, errors.New("models: no erased guardian")
	}
	return erased, nil
}

// eraseStudent applies ErasureRules to student id inside tx, and moves
// link_version so every instance drops the child's links at once.
func eraseStudent(tx *gorm.DB, id int64, now time.Time) error {
	erased, err := erasedGuardian(tx, now)
	if err != nil {
		return err
	}
	args := map[string]any{"student": id, "erased": erased, "now": now, "false": false,
		"named_mid": fmt.Sprintf(`%%"student_id":%d,%%`, id), "named_end": fmt.Sprintf(`%%"student_id":%d}%%`, id)}
	for _, r := range ErasureRules {
		for _, q := range r.SQL {
			if err := tx.Exec(q, args).Error; err != nil {
				return fmt.Errorf("erase %s: %w", r.Table, err)
			}
		}
	}
	return bumpLinks(tx)
}

// orderObjectSQL is an order's name in fee_audit.object ("order:<id>"), in SQL
// (|| joins text and a number on both engines).
const orderObjectSQL = "'order:' || id"
