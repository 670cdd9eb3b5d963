package models

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// Names and classes are stored as the school wrote them (their display
// form) and compared by a key that forgets how they were typed: class
// lists pad two-character names with full-width spaces to line them up
// with three-character ones (王　芳), and write one class as (2)班, （２）班,
// 02班 or 2班.

// NameKey is the form of a person's name that two spellings of the same
// name share: narrow, lower case, without spaces of any width, with the
// middle dots of minority names (· • ・ ‧ ．) made one.
func NameKey(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case r == '•' || r == '・' || r == '‧' || r == '．' || r == '･' || r == '.':
			return '·'
		}
		return r
	}, width.Narrow.String(s)))
}

// SameName reports whether a and b are one name typed two ways.
func SameName(a, b string) bool { return NameKey(a) == NameKey(b) }

// ClassKey is the form of a class name that two spellings of the same
// class share: narrow, without spaces or brackets, without leading zeros
// in its numbers, and with 班 after a bare number — so (2)班, （２）班, 02班,
// 2 and 2班 are one class.
func ClassKey(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case strings.ContainsRune("()（）[]【】〔〕", r):
			return -1
		}
		return r
	}, width.Narrow.String(s))
	var b strings.Builder
	digits, inNumber := true, false // all digits so far; a digit of this number written
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			digits, inNumber = false, false
			b.WriteByte(c)
			continue
		}
		if c == '0' && !inNumber && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			continue // a leading zero
		}
		inNumber = true
		b.WriteByte(c)
	}
	if digits && b.Len() > 0 {
		b.WriteString("班")
	}
	return b.String()
}
