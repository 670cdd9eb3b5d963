package main

import (
	"sort"
	"time"
)

// The statistics of a load run: its samples, rates and percentiles.

// loadStats summarises a load run.
type loadStats struct {
	Elapsed  time.Duration
	Requests int
	Counts   map[string]int
	samples  []sample
}

func mergeSamples(parts [][]sample, elapsed time.Duration) loadStats {
	st := loadStats{Elapsed: elapsed, Counts: map[string]int{}}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	st.samples = make([]sample, 0, n)
	for _, p := range parts {
		for _, s := range p {
			st.Counts[s.key]++
			st.samples = append(st.samples, s)
		}
	}
	st.Requests = n
	return st
}

// isShed reports an answer that sheds load (429, 503).
func isShed(status int) bool { return status == 429 || status == 503 }

// isError reports a failure: a 5xx other than 503, or no answer at all.
func isError(status int) bool { return status == 0 || (status >= 500 && status != 503) }

// filter returns the samples for which keep is true.
func (st loadStats) filter(keep func(sample) bool) []sample {
	var out []sample
	for _, s := range st.samples {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// count returns how many samples keep accepts.
func (st loadStats) count(keep func(sample) bool) int {
	n := 0
	for _, s := range st.samples {
		if keep(s) {
			n++
		}
	}
	return n
}

// rate is n per second of the run.
func (st loadStats) rate(n int) float64 {
	if st.Elapsed <= 0 {
		return 0
	}
	return float64(n) / st.Elapsed.Seconds()
}

// percentiles returns p50 and p99 of the samples' latency, in milliseconds.
func percentiles(ss []sample) (p50, p99 float64) {
	if len(ss) == 0 {
		return 0, 0
	}
	lat := make([]time.Duration, len(ss))
	for i, s := range ss {
		lat[i] = s.lat
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(lat))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i].Microseconds()) / 1000
	}
	return at(0.50), at(0.99)
}

// slowWindows cuts an open loop into windows of w by scheduled start and
// counts those whose p99 exceeds limit. A machine that stalls (a busy
// neighbour, stolen CPU) shows as a few slow windows in every loop it runs,
// the hello server's included; a server that is slow shows in most.
func slowWindows(st loadStats, w, limit time.Duration) (slow, total int) {
	byWindow := map[int][]sample{}
	for _, s := range st.samples {
		if s.status == 0 && s.lat == 0 {
			continue // dropped before it was sent
		}
		i := int((s.end - s.lat) / w)
		byWindow[i] = append(byWindow[i], s)
	}
	for _, ss := range byWindow {
		total++
		if _, p99 := percentiles(ss); p99 > float64(limit.Microseconds())/1000 {
			slow++
		}
	}
	return slow, total
}

// perRequestPercentiles returns p50 and p99, in milliseconds, of each
// request's whole life: from its first try to its last answer, retries
// after shedding included (what a parent waits).
func perRequestPercentiles(ss []sample) (p50, p99 float64) {
	first, last := map[int64]time.Duration{}, map[int64]time.Duration{}
	for _, s := range ss {
		start := s.end - s.lat
		if f, ok := first[s.i]; !ok || start < f {
			first[s.i] = start
		}
		if s.end > last[s.i] {
			last[s.i] = s.end
		}
	}
	whole := make([]sample, 0, len(first))
	for i, f := range first {
		whole = append(whole, sample{lat: last[i] - f})
	}
	return percentiles(whole)
}
