package models

// RollRefusal is a refusal of a roll's PUT that names the child it is
// about, so a screen can show it beside that child's row.
type RollRefusal struct {
	Err       *Error
	StudentID int64
}

func (e *RollRefusal) Error() string { return e.Err.Error() }

// Unwrap returns the named error.
func (e *RollRefusal) Unwrap() error { return e.Err }

// canMarkAfterDismissal reports whether a child on the roll may be given
// mark: a child recorded as gone home came, so once a dismissal is on the
// roll only present or late fits them (the mirror of canDismiss). Marking
// them absent would tell the family "未到" after "已离校".
func canMarkAfterDismissal(st rollStudent, mark string) bool {
	return !st.DismissedBy.Valid || mark == MarkPresent || mark == MarkLate
}

// alreadyDismissed refuses mark for a dismissed child, naming the child,
// when and how they left, and the mark asked for.
func alreadyDismissed(st rollStudent, mark string) error {
	left := st.DismissedAt.Time.In(Zone).Format("15:04") + " " + dismissalPhrases[st.DismissedBy.String]
	return &RollRefusal{StudentID: st.StudentID, Err: ErrAlreadyDismissed.WithMessage(
		"学生 %s（%d）本节课已登记离校（%s），不能记为%s；已离校的学生只能记为出勤或迟到",
		st.Name, st.StudentID, left, markPhrases[mark])}
}
