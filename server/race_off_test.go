//go:build !race

package main

// raceDetector is true when the tests run under -race, whose shadow memory
// and slowdown make memory budgets and large inputs meaningless.
const raceDetector = false
