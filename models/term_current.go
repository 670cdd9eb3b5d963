package models

import "context"

// CurrentTermID picks, among a school's terms, the one a parent's screen
// should open on today (a YYYY-MM-DD date in Asia/Shanghai): the term in
// session today (the latest to start when terms overlap); between terms,
// the next to start (the one families enroll for over the holiday); with
// no term in session or ahead, none (0). It reads nothing, so a list
// answer marks its terms without another query.
func CurrentTermID(terms []Term, today string) int64 {
	var in, next *Term
	for i := range terms {
		t := &terms[i]
		switch {
		case t.StartsOn <= today && today <= t.EndsOn:
			if in == nil || t.StartsOn > in.StartsOn || (t.StartsOn == in.StartsOn && t.ID > in.ID) {
				in = t
			}
		case t.StartsOn > today:
			if next == nil || t.StartsOn < next.StartsOn || (t.StartsOn == next.StartsOn && t.ID < next.ID) {
				next = t
			}
		}
	}
	switch {
	case in != nil:
		return in.ID
	case next != nil:
		return next.ID
	}
	return 0
}

// SchoolCurrentTermID is CurrentTermID over every term of schoolID (for
// an answer that names one term: is it the current one?).
func SchoolCurrentTermID(ctx context.Context, db *DB, schoolID int64, today string) (int64, error) {
	var ts []Term
	err := db.Read(ctx).Select("id", "starts_on", "ends_on").Where("school_id = ?", schoolID).Find(&ts).Error
	if err != nil {
		return 0, err
	}
	return CurrentTermID(ts, today), nil
}
