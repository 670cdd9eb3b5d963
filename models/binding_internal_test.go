package models

import (
	"bytes"
	"testing"
)

// TestBindingCodeNoModuloBias: bytes at or above 248 (the largest multiple
// of the 31-letter alphabet) are drawn again instead of wrapping onto the
// first letters.
func TestBindingCodeNoModuloBias(t *testing.T) {
	src := append(bytes.Repeat([]byte{255, 250, 248}, 4), make([]byte, 64)...)
	if got := bindingCodeFrom(bytes.NewReader(src)); got != "AAAAAAAA" {
		t.Fatalf("code %q from rejected bytes then zeros, want AAAAAAAA", got)
	}
	// Every byte value below 248 maps to one letter, 248 of them onto 31
	// letters 8 times each; the rest are drawn again.
	counts := map[byte]int{}
	for b := range 256 {
		src := append(bytes.Repeat([]byte{byte(b)}, 2*bindingCodeLen), make([]byte, 2*bindingCodeLen)...)
		code := bindingCodeFrom(bytes.NewReader(src))
		if b >= 248 {
			if code != "AAAAAAAA" {
				t.Fatalf("byte %d gave %q, want it drawn again", b, code)
			}
			continue
		}
		counts[code[0]]++
	}
	for _, c := range []byte(bindingAlphabet) {
		if counts[c] != 8 {
			t.Fatalf("letter %c from %d byte values, want 8", c, counts[c])
		}
	}
}
