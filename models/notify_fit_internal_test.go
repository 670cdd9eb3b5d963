package models

import "testing"

// TestChangeNotesFitWeChat: the notes of a moved club and the clubs of a
// calendar cancellation fit a WeChat "thing" field (20 characters) in
// their longest real cases, rather than being cut mid-word.
func TestChangeNotesFitWeChat(t *testing.T) {
	slots := map[int]string{
		maskOf(2, 4):          "周二四 16:30-18:00",
		maskOf(1, 2, 3, 4, 5): "周一至五 16:30-18:00",
		maskOf(1, 2, 4, 5):    "周一二四五 16:30-18:00",
		maskOf(3):             "周三 16:30-18:00",
	}
	for m, want := range slots {
		note := "改为" + shortSlot(Offering{Weekdays: m, StartMin: 990, EndMin: 1080})
		if note != "改为"+want || len([]rune(note)) > 20 {
			t.Errorf("weekdays %b: note %q (%d characters), want 改为%s", m, note, len([]rune(note)), want)
		}
	}
	for _, names := range [][]string{{"篮球社", "美术社"}, {"少儿国际象棋提高班", "中国传统文化经典诵读", "合唱团"},
		{"一个名字特别特别特别特别长的社团"}} {
		if got := clubsText(names); len([]rune(got)) > 20 {
			t.Errorf("clubs %v: %q is %d characters", names, got, len([]rune(got)))
		}
	}
	for _, note := range []string{shortDate("2026-12-08") + "停课（学校调整校历）", shortDate("2026-12-08") + "恢复上课（学校调整校历）",
		shortDate("2026-12-12") + "调休上课（学校调整校历）"} {
		if len([]rune(note)) > 20 {
			t.Errorf("%q is %d characters", note, len([]rune(note)))
		}
	}
}

func maskOf(days ...int) int {
	m := 0
	for _, d := range days {
		m |= 1 << d
	}
	return m
}
