package models

import (
	"unicode"
	"unicode/utf8"
)

// PlainText reports whether s is valid UTF-8 free of characters that
// change how text around them looks without being seen: control characters,
// format characters (bidi overrides and isolates such as U+202E, zero-width
// spaces and joiners such as U+200B, the BOM, soft hyphens), private-use
// and surrogate code points, and line or paragraph separators. A name with
// one can pose as another on a roster, a message or an export, so every
// name people type (students, guardians, offerings, schools) is checked
// with it in shape validation.
func PlainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp) ||
			r == '\u115F' || r == '\u1160' || r == '\u3164' || r == '\uFFA0' { // Hangul fillers: blank letters
			return false
		}
	}
	return true
}

// ValidName reports whether s is a name of 1 to max characters, PlainText,
// and not only spaces.
func ValidName(s string, max int) bool {
	n := utf8.RuneCountInString(s)
	if n == 0 || n > max || !PlainText(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return true
		}
	}
	return false
}
