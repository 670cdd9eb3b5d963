package models

import (
	"database/sql"
	"reflect"
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
	MaxClubs       int        `col:"t.max_clubs" json:"max_clubs"`
	Enrolled       int        `col:"o.enrolled_count" json:"enrolled_count"`
	Waitlisted     int        `col:"o.waitlisted_count" json:"waitlisted_count"`
	Applied        int        `col:"o.applied_count" json:"applied_count"`
	changed        bool
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
	t.ID, t.MaxClubs = r.TermID, r.MaxClubs
	return o, t
}
