package matrix

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestChartFromResults redraws the chart from a results.json given in
// BENCH_RESULTS (for tuning the chart without re-running the matrix), or
// from a tiny synthetic result.
func TestChartFromResults(t *testing.T) {
	scen := Scenarios(true)
	impls := []string{"raw", "std", "simple"}
	var runs []Run
	var meta Meta
	if p := os.Getenv("BENCH_RESULTS"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Meta Meta
			Runs []Run
			Scen []Scenario `json:"scenarios"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		meta, runs, scen = doc.Meta, doc.Runs, doc.Scen
	}
	rows := Summarize(scen, impls, runs)
	out := filepath.Join(t.TempDir(), "chart.png")
	if p := os.Getenv("BENCH_CHART"); p != "" {
		out = p
	}
	if err := Chart(out, scen, impls, rows, meta); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no chart written: %v", err)
	}
}

// TestChartIdleOnly: a matrix of idle scenarios alone (no load panels) still
// draws its memory panel.
func TestChartIdleOnly(t *testing.T) {
	var idle []Scenario
	for _, s := range Scenarios(true) {
		if s.Mode == "idle" {
			idle = append(idle, s)
		}
	}
	impls := []string{"raw", "simple"}
	out := filepath.Join(t.TempDir(), "chart.png")
	if err := Chart(out, idle, impls, Summarize(idle, impls, nil), Meta{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no chart written: %v", err)
	}
}
