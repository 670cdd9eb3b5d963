package models

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// The roster's optional waiver columns (SPEC "Fees and payment": a
// student's fee_waiver is set by the school, audited, "or by an optional
// roster column"). A file without them leaves every waiver as it is; a file
// with them sets the waiver of each student whose cell is filled, through
// the same audited write as PATCH /students/{id} (setWaiverTx, source
// "roster"). An empty cell leaves the student's waiver as it is: a school
// clears one by writing none (无, 不减免), never by leaving a cell blank, so
// a half-filled column cannot take a family's waiver away by accident.

// RosterWaiverColumns are the optional waiver columns of a roster:
// fee_waiver (none|half|full, or 无、减半、全免 …) and waiver_reason
// (poverty_registered|dibao|disability|other, or 建档立卡、低保、残疾、其他).
var RosterWaiverColumns = []string{"fee_waiver", "waiver_reason"}

// rosterWaiverWords map what schools write in the waiver columns to the
// waiver vocabulary (fee_waiver.go), keyed by normalizeWaiverCell's form.
var (
	rosterWaiverWords = map[string]string{
		WaiverNone: WaiverNone, "无": WaiverNone, "否": WaiverNone, "不减免": WaiverNone, "无减免": WaiverNone, "不减": WaiverNone,
		WaiverHalf: WaiverHalf, "减半": WaiverHalf, "半免": WaiverHalf, "半额减免": WaiverHalf, "减免一半": WaiverHalf, "50%": WaiverHalf,
		WaiverFull: WaiverFull, "全免": WaiverFull, "全额减免": WaiverFull, "免费": WaiverFull, "全部减免": WaiverFull, "100%": WaiverFull,
	}
	rosterWaiverReasonWords = map[string]string{
		WaiverPovertyRegistered: WaiverPovertyRegistered, "建档立卡": WaiverPovertyRegistered, "建档立卡户": WaiverPovertyRegistered,
		"建档立卡贫困户": WaiverPovertyRegistered, "建档立卡家庭": WaiverPovertyRegistered,
		WaiverDibao: WaiverDibao, "低保": WaiverDibao, "低保户": WaiverDibao, "低保家庭": WaiverDibao, "城乡低保": WaiverDibao,
		WaiverDisability: WaiverDisability, "残疾": WaiverDisability, "残疾学生": WaiverDisability, "残疾儿童": WaiverDisability,
		WaiverOther: WaiverOther, "其他": WaiverOther, "其它": WaiverOther,
	}
)

// normalizeWaiverCell is a waiver cell as matched against the words:
// narrow, lower case, without spaces of any width.
func normalizeWaiverCell(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, width.Narrow.String(s)))
}

// RosterWaiver is the waiver a roster row sets for its student.
type RosterWaiver struct {
	Waiver, Reason string
}

// rosterWaiver reads row r's waiver cells (row n): nil when both are
// empty (the waiver is left as it is), else the waiver they set, checked
// as SetStudentWaiver checks it; each problem is reported through add.
func rosterWaiver(n int, r RosterRow, add func(RowError)) (*RosterWaiver, bool) {
	if r.FeeWaiver == "" && r.WaiverReason == "" {
		return nil, true
	}
	ok := true
	fail := func(field, value, msg string) {
		add(rosterRowError(n, r.StudentNo, field, value, msg))
		ok = false
	}
	w, wok := rosterWaiverWords[normalizeWaiverCell(r.FeeWaiver)]
	reason, rok := rosterWaiverReasonWords[normalizeWaiverCell(r.WaiverReason)]
	switch {
	case r.FeeWaiver == "":
		fail("fee_waiver", "", "填写了减免原因，须同时填写减免（减半或全免）")
	case !wok:
		fail("fee_waiver", r.FeeWaiver, "减免须为 none、half 或 full（也可写 无、减半、全免）")
	case w == WaiverNone && r.WaiverReason != "":
		fail("waiver_reason", r.WaiverReason, "不减免时不填减免原因")
	case w != WaiverNone && r.WaiverReason == "":
		fail("waiver_reason", "", "减半或全免须填写减免原因（建档立卡、低保、残疾或其他）")
	case w != WaiverNone && !rok:
		fail("waiver_reason", r.WaiverReason,
			"减免原因须为 poverty_registered、dibao、disability 或 other（也可写 建档立卡、低保、残疾、其他）")
	}
	if !ok {
		return nil, false
	}
	if w == WaiverNone {
		reason = ""
	}
	return &RosterWaiver{Waiver: w, Reason: reason}, true
}

// mergeRosterWaiver takes the waiver of another row of student st (row n,
// r): a row that leaves it empty says nothing; two rows that set it must
// agree.
func mergeRosterWaiver(st *RosterStudent, w *RosterWaiver, n int, r RosterRow, add func(RowError)) {
	switch {
	case w == nil:
	case st.Waiver == nil:
		st.Waiver, st.waiverRow = w, n
	case *st.Waiver != *w:
		add(rosterRowError(n, r.StudentNo, "fee_waiver", r.FeeWaiver, fmt.Sprintf("与第%d行的减免或减免原因不一致", st.waiverRow)))
	}
}
