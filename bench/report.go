package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// benchReport is everything one run measured; -out writes it as JSON.
type benchReport struct {
	Started   time.Time                  `json:"started"`
	Finished  time.Time                  `json:"finished"`
	Machine   map[string]any             `json:"machine"`
	Options   map[string]any             `json:"options"`
	Baselines map[string]*baselineResult `json:"baselines"`
	Scenarios []*scenarioResult          `json:"scenarios"`
	Targets   []targetRow                `json:"targets"`
	Error     string                     `json:"error,omitempty"`

	mu sync.Mutex
}

// scenarioResult is one scenario on one engine.
type scenarioResult struct {
	Engine         string             `json:"engine"`
	Name           string             `json:"name"`
	Conns          int                `json:"conns"`
	ArrivalRate    float64            `json:"arrival_rate,omitempty"`
	Seconds        float64            `json:"seconds"`
	Requests       int                `json:"requests"`
	RPS            float64            `json:"requests_per_sec"`
	Accepted       int                `json:"accepted_enrollments"`
	AcceptedPerSec float64            `json:"accepted_enrollments_per_sec"`
	P50ms          float64            `json:"p50_ms"`
	P99ms          float64            `json:"p99_ms"`
	Counts         map[string]int     `json:"counts"`
	Shed           int                `json:"shed"`
	Errors         int                `json:"errors"`
	PeakRSSMB      float64            `json:"peak_rss_mb,omitempty"`
	Extra          map[string]float64 `json:"extra,omitempty"`
	Invariants     []invariantResult  `json:"invariants,omitempty"`
}

// targetRow is one line of the table: a figure, its baseline, the ratio and
// whether the target is met.
type targetRow struct {
	Engine   string  `json:"engine"`
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline string  `json:"baseline,omitempty"`
	BaseVal  float64 `json:"baseline_value,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Target   string  `json:"target"`
	Met      bool    `json:"met"`
	// Informative rows are reported beside a target, not checked.
	Informative bool `json:"informative,omitempty"`
}

func newBenchReport(o benchOptions) *benchReport {
	return &benchReport{
		Started: time.Now().UTC(),
		Machine: map[string]any{"cpus": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH},
		Options: map[string]any{"scenarios": o.Scenarios, "students": o.Students, "clubs": o.Clubs, "seats": o.Seats,
			"hot_seats": o.HotSeats, "browse_conns": o.BrowseConns, "rush_conns": o.RushConns,
			"duration": o.Duration.String(), "pg": o.PG != "", "province": o.Province, "smoke": o.Smoke,
			"province_schools": o.ProvShape.Schools(), "province_students": o.ProvShape.Students(), "server_env": o.Env, "access_log": o.AccessLog},
		Baselines: map[string]*baselineResult{},
	}
}

func (r *benchReport) addBaseline(b *baselineResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Baselines[b.Name] = b
}

// baselineOf returns a copy of the named baseline (the zero value when it
// was not measured).
func (r *benchReport) baselineOf(name string) baselineResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.Baselines[name]; b != nil {
		return *b
	}
	return baselineResult{}
}

// baseline returns the named baseline's rate (0 when not measured).
func (r *benchReport) baseline(name string) float64 { return r.baselineOf(name).PerSec }

// informative adds a row that is reported, not checked.
func (r *benchReport) informative(engine, scenario, metric, unit string, value float64) {
	r.addTarget(targetRow{Engine: engine, Scenario: scenario, Metric: metric, Value: value, Unit: unit,
		Target: "(reported)", Informative: true})
}

func (r *benchReport) addScenario(s *scenarioResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Scenarios = append(r.Scenarios, s)
}

// atLeast adds a row "value ≥ factor × baseline".
func (r *benchReport) atLeast(engine, scenario, metric, unit string, value float64, baseName string, factor float64) {
	base := r.baseline(baseName)
	row := targetRow{Engine: engine, Scenario: scenario, Metric: metric, Value: value, Unit: unit,
		Baseline: baseName, BaseVal: base, Target: fmt.Sprintf("≥ %s× %s", trimFloat(factor), baseName)}
	if base > 0 {
		row.Ratio = value / base
		row.Met = row.Ratio >= factor
	}
	r.addTarget(row)
}

// atLeastValue adds a row "value ≥ limit" (a fixed target, no baseline).
func (r *benchReport) atLeastValue(engine, scenario, metric, unit string, value, limit float64) {
	r.addTarget(targetRow{Engine: engine, Scenario: scenario, Metric: metric, Value: value, Unit: unit,
		Target: fmt.Sprintf("≥ %s %s", trimFloat(limit), unit), Met: value >= limit})
}

// scenarioOf is the last result of scenario name on engine, or nil.
func (r *benchReport) scenarioOf(engine, name string) *scenarioResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.Scenarios) - 1; i >= 0; i-- {
		if s := r.Scenarios[i]; s.Engine == engine && s.Name == name {
			return s
		}
	}
	return nil
}

// atMost adds a row "value ≤ limit".
func (r *benchReport) atMost(engine, scenario, metric, unit string, value, limit float64) {
	r.addTarget(targetRow{Engine: engine, Scenario: scenario, Metric: metric, Value: value, Unit: unit,
		Target: fmt.Sprintf("≤ %s %s", trimFloat(limit), unit), Met: value <= limit})
}

// exactly adds a row "value = want".
func (r *benchReport) exactly(engine, scenario, metric, unit string, value, want float64) {
	r.addTarget(targetRow{Engine: engine, Scenario: scenario, Metric: metric, Value: value, Unit: unit,
		Target: fmt.Sprintf("= %s", trimFloat(want)), Met: value == want})
}

func (r *benchReport) addTarget(t targetRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Targets = append(r.Targets, t)
}

func (r *benchReport) finish() { r.Finished = time.Now().UTC() }

func (r *benchReport) writeJSON(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func fmtValue(v float64, unit string) string {
	switch {
	case unit == "ms":
		return fmt.Sprintf("%.2f ms", v)
	case unit == "s":
		return fmt.Sprintf("%.1f s", v)
	case unit == "MB":
		return fmt.Sprintf("%.0f MB", v)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return strings.TrimSpace(trimFloat(v) + " " + unit)
}

// describe prints one scenario's figures.
func (s *scenarioResult) describe(w io.Writer) {
	fmt.Fprintf(w, "  [%s] %s: %d requests in %.1fs on %d conns", s.Engine, s.Name, s.Requests, s.Seconds, s.Conns)
	if s.ArrivalRate > 0 {
		fmt.Fprintf(w, " at %.0f/s arriving", s.ArrivalRate)
	}
	fmt.Fprintf(w, "\n    %.0f req/s, accepted enrollments %d (%.0f/s), p50 %.2f ms, p99 %.2f ms, shed %d, errors %d",
		s.RPS, s.Accepted, s.AcceptedPerSec, s.P50ms, s.P99ms, s.Shed, s.Errors)
	if s.PeakRSSMB > 0 {
		fmt.Fprintf(w, ", server peak RSS %.0f MB", s.PeakRSSMB)
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, s.Counts[k]))
	}
	fmt.Fprintf(w, "    by status: %s\n", strings.Join(parts, ", "))
	if len(s.Extra) > 0 {
		keys = keys[:0]
		for k := range s.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts = parts[:0]
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %s", k, trimFloat(s.Extra[k])))
		}
		fmt.Fprintf(w, "    %s\n", strings.Join(parts, ", "))
	}
	for _, inv := range s.Invariants {
		mark := "ok  "
		if !inv.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "    invariant %s %s %s\n", mark, inv.Name, inv.Detail)
	}
}

// print writes the baselines, the scenarios and the table of targets.
func (r *benchReport) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(w, "\nkehou-bench — %d CPUs, %s\n\nBaselines:\n", r.Machine["cpus"], r.Machine["go"])
	names := make([]string, 0, len(r.Baselines))
	for k := range r.Baselines {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b := r.Baselines[k]
		fmt.Fprintf(w, "  %-12s %9.0f /s  p50 %.2f ms  p99 %.2f ms  (%d conns, %.1fs)\n", b.Name, b.PerSec, b.P50ms, b.P99ms, b.Conns, b.Seconds)
	}
	fmt.Fprintln(w, "\nScenarios:")
	for _, s := range r.Scenarios {
		s.describe(w)
	}
	fmt.Fprintln(w, "\nTargets:")
	fmt.Fprintf(w, "| %-8s | %-8s | %-34s | %14s | %-22s | %6s | %-18s | %-4s |\n", "engine", "scenario", "figure", "value", "baseline", "ratio", "target", "met")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 36),
		strings.Repeat("-", 16), strings.Repeat("-", 24), strings.Repeat("-", 8), strings.Repeat("-", 20), strings.Repeat("-", 6))
	for _, t := range r.Targets {
		base, ratio := "", ""
		if t.Baseline != "" {
			base = fmt.Sprintf("%s %s", t.Baseline, fmtValue(t.BaseVal, "/s"))
			ratio = fmt.Sprintf("%.2f", t.Ratio)
		}
		met := "no"
		switch {
		case t.Informative:
			met = "—"
		case t.Met:
			met = "yes"
		}
		fmt.Fprintf(w, "| %-8s | %-8s | %-34s | %14s | %-22s | %6s | %-18s | %-4s |\n",
			t.Engine, t.Scenario, t.Metric, fmtValue(t.Value, t.Unit), base, ratio, t.Target, met)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "\nThe run stopped early: %s\n", r.Error)
	}
}
