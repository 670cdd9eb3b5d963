package models

import (
	"context"
)

// OfferingSummary is the one shape in which an enrollment or a session
// names its club: enough for a parent's screen without another call.
type OfferingSummary struct {
	ID       int64  `gorm:"column:id"`
	Name     string `gorm:"column:name"`
	Kind     string `gorm:"column:kind"`
	Category string `gorm:"column:category"`
	Teacher  string `gorm:"column:teacher"`
	Venue    string `gorm:"column:venue"`
	Weekdays int    `gorm:"column:weekdays"` // bit mask, as Offering
	StartMin int    `gorm:"column:start_min"`
	EndMin   int    `gorm:"column:end_min"`
	Status   string `gorm:"column:status"`
	TermID   int64  `gorm:"column:term_id"`
	TermName string `gorm:"column:term_name"`
}

// Summary is o's summary in term t.
func (o Offering) Summary(t Term) OfferingSummary {
	return OfferingSummary{ID: o.ID, Name: o.Name, Kind: o.Kind, Category: o.Category, Teacher: o.Teacher, Venue: o.Venue,
		Weekdays: o.Weekdays, StartMin: o.StartMin, EndMin: o.EndMin, Status: o.Status, TermID: o.TermID, TermName: t.Name}
}

// FindOfferingSummary is the summary of offering id, from the offering
// cache (the answer of an enrollment names its club without a query).
func FindOfferingSummary(ctx context.Context, db *DB, id int64) (OfferingSummary, error) {
	o, t, err := db.cachedOffering(ctx, id)
	if err != nil {
		return OfferingSummary{}, err
	}
	return o.Summary(t), nil
}

// FindOfferingSummaries returns the summaries of the offerings ids, by id,
// in one query (a cancelled offering too: its families still read it).
func FindOfferingSummaries(ctx context.Context, db *DB, ids []int64) (map[int64]OfferingSummary, error) {
	out := make(map[int64]OfferingSummary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []OfferingSummary
	if err := db.Read(ctx).Raw(`SELECT o.id, o.name, o.kind, o.category, o.teacher, o.venue, o.weekdays, o.start_min,
		o.end_min, o.status, o.term_id, t.name AS term_name FROM offerings o JOIN terms t ON t.id = o.term_id
		WHERE o.id IN ?`, ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}
