package models

import "strings"

// Category is one of SPEC's fixed offering categories: a stable code and
// the Chinese label answers carry beside it.
type Category struct {
	Code  string
	Label string
}

// Categories are SPEC's offering categories, in SPEC's order.
var Categories = []Category{
	{"homework", "作业辅导"},
	{"sports", "体育"},
	{"arts", "美术"},
	{"music", "音乐"},
	{"science", "科技"},
	{"reading", "阅读"},
	{"handcraft", "手工"},
	{"labor", "劳动"},
	{"thinking", "思维"},
	{"other", "其他"},
}

// CategoryOther is the category of what fits no other.
const CategoryOther = "other"

// categoryHint is the 422 message for an unknown category: the codes a
// client may send, with their labels.
var categoryHint = func() string {
	parts := make([]string, len(Categories))
	for i, c := range Categories {
		parts[i] = c.Code + "（" + c.Label + "）"
	}
	return "类别须为以下之一：" + strings.Join(parts, "、")
}()

// CategoryLabel is the Chinese label of code ("" for an unknown code).
func CategoryLabel(code string) string {
	for _, c := range Categories {
		if c.Code == code {
			return c.Label
		}
	}
	return ""
}

// ParseCategory reads a category as a client sends it: a code (any case)
// or its Chinese label. ok is false for anything else.
func ParseCategory(s string) (code string, ok bool) {
	s = strings.TrimSpace(s)
	for _, c := range Categories {
		if strings.EqualFold(s, c.Code) || s == c.Label {
			return c.Code, true
		}
	}
	return "", false
}

// defaultCategory is the category of an offering created without one: the
// base service is homework supervision ("1" of "1+X"), a club "other".
func defaultCategory(kind string) string {
	if kind == KindBasic {
		return "homework"
	}
	return CategoryOther
}
