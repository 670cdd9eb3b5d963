package models

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The words of notifications, written to fit WeChat's template fields
// (docs/wechat.md): a `thing` value holds 20 characters, a `phrase` 5. What
// kehou composes (notes, phrases) fits by construction — it says less
// rather than being cut in half: a note too long for its field gives way to
// a shorter one, and the full text travels in the payload's "detail" for
// the inbox. Only what people typed (a child's or a club's name) can still
// be too long; the WeChat client ends those with "…" (wechat.Truncate).
// notify_text_test.go feeds every kind its longest real case.

// ThingLimit is the most characters a WeChat `thing` value holds.
const ThingLimit = 20

// DefaultTemplateFields maps the payload keys of kehou's notifications to
// the keys of a template configured without a mapping: the child, the club,
// the outcome phrase and the note.
var DefaultTemplateFields = map[string]string{
	"student": "thing1", "offering": "thing2", "status": "phrase3", "note": "thing4",
}

// fitNote is full when it fits a thing field, else short.
func fitNote(full, short string) string {
	if utf8.RuneCountInString(full) <= ThingLimit {
		return full
	}
	return short
}

// absenceNote is the note of an absence alert, the session named by its
// day, weekday and start: "12-05周五16:30未到，请联系老师" (20 characters at
// most, a thing field's limit).
func absenceNote(date string, startMin int) string {
	return sessionWhen(date, startMin) + "未到，请联系老师"
}

// arrivedNote is the note of the "已到" correction of an absence alert:
// "12-05周五16:30已到，缺勤作废".
func arrivedNote(date string, startMin int) string {
	return sessionWhen(date, startMin) + "已到，缺勤作废"
}

// sessionWhen names a session for a family in 12 characters: month-day,
// weekday, start ("12-05周五16:30"), so a parent need not work out which
// day of the week the 5th was.
func sessionWhen(date string, startMin int) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date + FormatClock(startMin)
	}
	wd := int(d.Weekday())
	if wd == 0 {
		wd = 7
	}
	return d.Format("01-02") + weekdayNames[wd] + FormatClock(startMin)
}

// sessionCancelNote is the note of a cancelled session (and its full text
// for the inbox): the reason when it fits beside the date.
func sessionCancelNote(date, reason string) (note, detail string) {
	detail = shortDate(date) + "停课：" + reason
	return fitNote(detail, shortDate(date)+"停课，原因见小程序"), detail
}

// offeringCancelNote is the note of a cancelled offering (and its full
// text): the reason when it fits.
func offeringCancelNote(reason string) (note, detail string) {
	return fitNote(reason, "原因请在小程序查看"), reason
}

// childLinkedNote is the note telling a parent why a child was linked.
const childLinkedNote = "与学校名单中的手机号一致"

// lotteryOfferings names the clubs a family ranked in a lost draw: all of
// them when they fit, else the first and how many ("篮球社等3个项目").
func lotteryOfferings(names []string) string {
	if all := strings.Join(names, "、"); utf8.RuneCountInString(all) <= ThingLimit {
		return all
	}
	return fitNote(fmt.Sprintf("%s等%d个项目", names[0], len(names)), fmt.Sprintf("%d个志愿项目", len(names)))
}

// dismissalNote is the note of a dismissal, the day named so it still
// reads right days later in the inbox: "12-07周一18:13 家长接走" (19
// characters at most, a thing field's limit).
func dismissalNote(at time.Time, by string) string {
	local := at.In(Zone)
	return sessionWhen(local.Format(time.DateOnly), local.Hour()*60+local.Minute()) + " " + dismissalPhrases[by]
}
