package models_test

import "strconv"

func fmtInt(i int64) string { return strconv.FormatInt(i, 10) }

// rateOf reads a rate for a comparison: -1 when it is nil (no data), so a
// test expecting a value fails on nil and one expecting nil says -1.
func rateOf(r *float64) float64 {
	if r == nil {
		return -1
	}
	return *r
}
