package models

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The facts a batch decides on, named once for both engines. Each field of
// offeringRow names its column (`col`) and its JSON key (`json`); from that
// one declaration come the SELECT list both engines run (offeringRowColumns,
// each column aliased to its JSON key), SQLite's scan (scanOffering, by
// field) and PostgreSQL's decoding of json_agg (by JSON key). A new fact
// of an offering or its term is one field here, plus the rule that reads
// it (onto, CheckEnrollable …).

// offeringRow is an offering's row as the batch read it — on PostgreSQL
// under its row lock, on SQLite under the single writer — with its term's
// max_clubs, and the counters moved by the members decided so far.
type offeringRow struct {
	SchoolID       int64      `col:"o.school_id" json:"school_id"`
	TermID         int64      `col:"o.term_id" json:"term_id"`
	Kind           string     `col:"o.kind" json:"kind"`
	Status         string     `col:"o.status" json:"status"`
	Mode           string     `col:"o.mode" json:"mode"`
	Waitlist       bool       `col:"o.waitlist" json:"waitlist"`
	DrawnAt        *time.Time `col:"o.drawn_at" json:"drawn_at"`
	Capacity       int        `col:"o.capacity" json:"capacity"`
	Grades         int        `col:"o.grades" json:"grades"`
	Weekdays       int        `col:"o.weekdays" json:"weekdays"`
	StartMin       int        `col:"o.start_min" json:"start_min"`
	EndMin         int        `col:"o.end_min" json:"end_min"`
	EnrollOpensAt  time.Time  `col:"o.enroll_opens_at" json:"enroll_opens_at"`
	EnrollClosesAt time.Time  `col:"o.enroll_closes_at" json:"enroll_closes_at"`
	FeeFen         int64      `col:"o.fee_fen" json:"fee_fen"`
	Billing        string     `col:"o.billing" json:"billing"`
	MaxClubs       int        `col:"t.max_clubs" json:"max_clubs"`
	// The term's calendar: a priced seat's bill is its sessions
	// (priceBatch).
	StartsOn      string `col:"t.starts_on" json:"starts_on"`
	EndsOn        string `col:"t.ends_on" json:"ends_on"`
	NoServiceDays string `col:"t.no_service_days" json:"no_service_days"`
	ExtraDays     string `col:"t.extra_days" json:"extra_days"`
	Enrolled      int    `col:"o.enrolled_count" json:"enrolled_count"`
	Waitlisted    int    `col:"o.waitlisted_count" json:"waitlisted_count"`
	Applied       int    `col:"o.applied_count" json:"applied_count"`
	// moved is what the batch's members decided so far added to the
	// counters (seatsTaken writes it).
	moved seatMove
}

// namedFacts are the tagged fields of a row type: the SELECT list that
// reads them (each column aliased to the field's JSON key) and the fields'
// indexes, in that list's order.
type namedFacts struct {
	columns string
	fields  []int
}

// factsOf reads the col and json tags of T's fields.
func factsOf[T any]() namedFacts {
	t := reflect.TypeFor[T]()
	var f namedFacts
	var cols []string
	for i := range t.NumField() {
		col, ok := t.Field(i).Tag.Lookup("col")
		if !ok {
			continue
		}
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if key == "" {
			panic("models: fact " + t.Field(i).Name + " has a col tag and no json name")
		}
		cols = append(cols, col+" AS "+key)
		f.fields = append(f.fields, i)
	}
	f.columns = strings.Join(cols, ", ")
	return f
}

// offeringFacts are offeringRow's named facts.
var offeringFacts = factsOf[offeringRow]()

// offeringRowColumns are the offering's id and offeringRow's columns, of
// offerings o joined with terms t.
var offeringRowColumns = "o.id AS id, " + offeringFacts.columns

// scanOffering reads a row of offeringRowColumns into f.offerings.
func (f batchFacts) scanOffering(rows *sql.Rows) error {
	var id int64
	o := &offeringRow{}
	v := reflect.ValueOf(o).Elem()
	dst := make([]any, 0, 1+len(offeringFacts.fields))
	dst = append(dst, &id)
	for _, i := range offeringFacts.fields {
		dst = append(dst, v.Field(i).Addr().Interface())
	}
	if err := rows.Scan(dst...); err != nil {
		return err
	}
	f.offerings[id] = o
	return nil
}

// onto returns o and t with the facts of the row in place of the ones the
// pre-checks read from the cache (which may be up to offeringTTL old, or
// older than a PATCH that has just committed).
func (r *offeringRow) onto(o Offering, t Term) (Offering, Term) {
	o.SchoolID, o.TermID, o.Kind, o.Status, o.Mode, o.Waitlist, o.DrawnAt = r.SchoolID, r.TermID, r.Kind, r.Status, r.Mode, r.Waitlist, r.DrawnAt
	o.Capacity, o.Grades, o.Weekdays, o.StartMin, o.EndMin = r.Capacity, r.Grades, r.Weekdays, r.StartMin, r.EndMin
	o.EnrollOpensAt, o.EnrollClosesAt = r.EnrollOpensAt, r.EnrollClosesAt
	o.FeeFen, o.Billing = r.FeeFen, r.Billing
	t.ID, t.MaxClubs = r.TermID, r.MaxClubs
	t.StartsOn, t.EndsOn, t.NoServiceDays, t.ExtraDays = r.StartsOn, r.EndsOn, r.NoServiceDays, r.ExtraDays
	return o, t
}

// The rows a batch writes are named once too: each table's columns are a
// list of batchColumn (name, PostgreSQL type, values), and from that list
// come both engines' FROM items (pgRows: unnest of typed arrays; sqliteRows:
// json_each over one JSON array per row), PostgreSQL's arguments and
// SQLite's JSON. The statements read v.<name>. A new written fact is one
// batchColumn (and its column in the statement that writes it).

// batchColumn is one column of the rows a batch writes.
type batchColumn struct {
	name   string // v.<name> in the statements
	pgType string // its PostgreSQL element type
	values any    // []int64, []string or []time.Time, one per row
}

// counterColumns are the moves of the offerings' counters, one row per
// changed offering (seatsTaken).
func (w *batchWrite) counterColumns() []batchColumn {
	return []batchColumn{{"id", "BIGINT", w.counterID}, {"enrolled", "BIGINT", w.counterEnrolled},
		{"waitlisted", "BIGINT", w.counterWaitlisted}, {"applied", "BIGINT", w.counterApplied}}
}

// enrollmentColumns are the new enrollments.
func (w *batchWrite) enrollmentColumns() []batchColumn {
	return []batchColumn{{"id", "BIGINT", w.id}, {"student_id", "BIGINT", w.sid}, {"offering_id", "BIGINT", w.oid},
		{"school_id", "BIGINT", w.school}, {"term_id", "BIGINT", w.term}, {"status", "TEXT", w.status},
		{"pos", "INTEGER", w.pos}, {"rank", "INTEGER", w.rank}, {"applied_by", "BIGINT", w.by}, {"at", "TIMESTAMPTZ", w.at},
		{"hold_until", "TIMESTAMPTZ", w.holdUntil}}
}

// orderColumns are the held and priced seats' orders (priceBatch).
func (w *batchWrite) orderColumns() []batchColumn {
	return []batchColumn{{"enrollment_id", "BIGINT", w.orderEnrollment}, {"school_id", "BIGINT", w.orderSchool},
		{"term_id", "BIGINT", w.orderTerm}, {"offering_id", "BIGINT", w.orderOffering}, {"student_id", "BIGINT", w.orderStudent},
		{"billing", "TEXT", w.orderBilling}, {"unit_fen", "BIGINT", w.orderUnit}, {"sessions", "INTEGER", w.orderSessions},
		{"bills_from", "TEXT", w.orderBillsFrom}, {"gross_fen", "BIGINT", w.orderGross}, {"waiver", "TEXT", w.orderWaiver},
		{"waiver_fen", "BIGINT", w.orderWaiverFen}, {"amount_fen", "BIGINT", w.orderAmount}, {"status", "TEXT", w.orderStatus},
		{"at", "TIMESTAMPTZ", w.orderAt}}
}

// ledgerColumns are the orders' first ledger rows (the charge, and a
// waiver), each naming its order by the enrollment it bills.
func (w *batchWrite) ledgerColumns() []batchColumn {
	return []batchColumn{{"enrollment_id", "BIGINT", w.moveEnrollment}, {"kind", "TEXT", w.moveKind},
		{"amount_fen", "BIGINT", w.moveAmount}, {"external_id", "TEXT", w.moveExternal}, {"reason", "TEXT", w.moveReason},
		{"at", "TIMESTAMPTZ", w.moveAt}}
}

// noteColumns are the guardians' confirmations (guardianOutboxInsert's sid,
// event, payload and kind).
func (w *batchWrite) noteColumns() []batchColumn {
	return []batchColumn{{"sid", "BIGINT", w.noteStudent}, {"event", "TEXT", w.noteEvent},
		{"payload", "TEXT", w.notePayload}, {"kind", "TEXT", w.noteKind}}
}

// answerColumns are the Idempotency-Key answers.
func (w *batchWrite) answerColumns() []batchColumn {
	return []batchColumn{{"user_id", "BIGINT", w.answerUser}, {"key", "TEXT", w.answerKey},
		{"request_hash", "TEXT", w.answerHash}, {"status", "INTEGER", w.answerStatus}, {"body", "TEXT", w.answerBody},
		{"created_at", "TIMESTAMPTZ", w.answerAt}, {"expires_at", "TIMESTAMPTZ", w.answerExpires}}
}

// pgRows is cols as a PostgreSQL FROM item: one array parameter per column.
func pgRows(cols []batchColumn) string {
	arrays, names := make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		arrays[i], names[i] = "CAST(? AS "+c.pgType+"[])", c.name
	}
	return "unnest(" + strings.Join(arrays, ", ") + ") AS v(" + strings.Join(names, ", ") + ")"
}

// sqliteRows is cols as a SQLite FROM item: one JSON parameter, an array
// per row (sqliteJSON).
func sqliteRows(cols []batchColumn) string {
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "value->>" + strconv.Itoa(i) + " AS " + c.name
	}
	return "(SELECT " + strings.Join(sel, ", ") + " FROM json_each(?)) v"
}

// batchRows is cols as engine d's FROM item (pgRows or sqliteRows) and
// its arguments.
func batchRows(d Dialect, cols []batchColumn) (string, []any, error) {
	if d == Postgres {
		return pgRows(cols), pgValues(cols), nil
	}
	rows, err := sqliteJSON(cols)
	return sqliteRows(cols), []any{rows}, err
}

// pgValues are cols' arrays, the arguments of pgRows.
func pgValues(cols []batchColumn) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = c.values
	}
	return out
}

// sqliteJSON is cols' rows as the JSON sqliteRows reads: times as the
// driver stores a time.Time, so they read back (and compare) like any
// other.
func sqliteJSON(cols []batchColumn) (string, error) {
	n := reflect.ValueOf(cols[0].values).Len()
	rows := make([][]any, n)
	for r := range rows {
		row := make([]any, len(cols))
		for i, c := range cols {
			switch v := c.values.(type) {
			case []int64:
				row[i] = v[r]
			case []string:
				row[i] = v[r]
			case []time.Time:
				row[i] = sqliteTime(v[r])
			default:
				return "", fmt.Errorf("models: batch column %s of %T", c.name, c.values)
			}
		}
		rows[r] = row
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// The statements of a batch's write, each given its rows' FROM item (the
// engine's). SQLite has no data-modifying CTEs, so it runs them one by one;
// PostgreSQL runs them as one (batchInsert). The counters move in seats.go
// (seatsTaken).

// enrollmentsInsert writes the enrollments; a held seat (hold_until after
// at) is held from its creation until hold_until, any other has hold_until
// = at and neither.
func enrollmentsInsert(rows string) string {
	return `INSERT INTO enrollments (id, student_id, offering_id, school_id, term_id, status, waitlist_position, rank,
		applied_by, created_at, updated_at, held_at, hold_expires_at)
	SELECT v.id, v.student_id, v.offering_id, v.school_id, v.term_id, v.status, NULLIF(v.pos, 0), v.rank, v.applied_by, v.at, v.at,
		CASE WHEN v.hold_until > v.at THEN v.at END, CASE WHEN v.hold_until > v.at THEN v.hold_until END
	FROM ` + rows
}

// ordersInsert opens the orders and answers each one's id and enrollment.
func ordersInsert(rows string) string {
	return `INSERT INTO orders (enrollment_id, school_id, term_id, offering_id, student_id, billing, unit_fen, sessions,
		bills_from, gross_fen, waiver, waiver_fen, amount_fen, status, created_at, updated_at)
	SELECT v.enrollment_id, v.school_id, v.term_id, v.offering_id, v.student_id, v.billing, v.unit_fen, v.sessions,
		v.bills_from, v.gross_fen, v.waiver, v.waiver_fen, v.amount_fen, v.status, v.at, v.at
	FROM ` + rows + `
	RETURNING id, enrollment_id, school_id`
}

// ledgerInsert writes the orders' first ledger rows, each to the order of
// its enrollment in orders (the table on SQLite, the inserting CTE on
// PostgreSQL).
func ledgerInsert(rows, orders string) string {
	return `INSERT INTO fee_ledger (order_id, school_id, kind, amount_fen, external_id, reason, occurred_at, created_at)
	SELECT ord.id, ord.school_id, v.kind, v.amount_fen, v.external_id, v.reason, v.at, v.at
	FROM ` + rows + ` JOIN ` + orders + ` ord ON ord.enrollment_id = v.enrollment_id`
}

// answersInsert stores the answers, replacing only expired ones (WHERE
// true lets SQLite parse ON CONFLICT after INSERT … SELECT).
func answersInsert(rows string) string {
	return `INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at, expires_at)
	SELECT v.user_id, v.key, v.request_hash, v.status, v.body, v.created_at, v.expires_at
	FROM ` + rows + `
	WHERE true
	` + replaceExpiredAnswer
}
