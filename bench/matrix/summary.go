package matrix

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/loadgen"
)

// Noise thresholds for the table's markers.
const (
	foreignLimit = 0.10 // other processes used more than this share of the server's core
	genLimit     = 0.90 // the load generator used more than this many cores
)

// Cell is one metric of one server in one scenario across repetitions.
type Cell struct {
	Median float64 `json:"median"` // median over the repetitions
	Min    float64 `json:"min"`    // smallest repetition
	Max    float64 `json:"max"`    // largest repetition
	N      int     `json:"n"`      // repetitions with a value
	// Noisy: in some repetition other processes used more than 10 % of
	// the server's core, so its busy time is inflated.
	Noisy bool `json:"noisy,omitempty"`
	// GenBound: in some repetition the load generator used more than 0.9
	// cores, so throughput is the generator's limit, not the server's.
	GenBound bool `json:"gen_bound,omitempty"`
}

// Row is one metric of one scenario for every server, with SimpleServer's
// ratios to raw gnet and std net (0 when either side is missing).
type Row struct {
	Scenario string          `json:"scenario"`                // Scenario.Key
	Label    string          `json:"label"`                   // Scenario.Label
	Metric   string          `json:"metric"`                  // metric name as printed
	Key      string          `json:"key"`                     // metric name in JSON
	Cells    map[string]Cell `json:"cells"`                   // by server name
	VsRaw    float64         `json:"simple_vs_raw,omitempty"` // SimpleServer median / raw gnet median
	VsStd    float64         `json:"simple_vs_std,omitempty"` // SimpleServer median / std net median
}

// metric extracts one number from a result; ok is false when it is absent.
type metric struct {
	name, key string
	get       func(*loadgen.Result) (float64, bool)
}

func lat(f func(*loadgen.Result) uint64, scale float64) func(*loadgen.Result) (float64, bool) {
	return func(r *loadgen.Result) (float64, bool) {
		if r.Latency == nil || r.Latency.Count == 0 {
			return 0, false
		}
		return float64(f(r)) / scale, true
	}
}

var (
	mOps     = metric{"ops/s", "ops_per_sec", func(r *loadgen.Result) (float64, bool) { return r.OpsPerSec, r.Ops > 0 }}
	mP50     = metric{"p50 µs", "p50_us", lat(func(r *loadgen.Result) uint64 { return r.Latency.P50 }, 1e3)}
	mP99     = metric{"p99 µs", "p99_us", lat(func(r *loadgen.Result) uint64 { return r.Latency.P99 }, 1e3)}
	mP999    = metric{"p999 µs", "p999_us", lat(func(r *loadgen.Result) uint64 { return r.Latency.P999 }, 1e3)}
	mCoreUs  = metric{"srv-core µs/op", "core_us_per_op", func(r *loadgen.Result) (float64, bool) { return cpu(r).CoreUsPerOp, cpu(r).CoreUsPerOp > 0 }}
	mProcUs  = metric{"srv-proc µs/op", "proc_us_per_op", func(r *loadgen.Result) (float64, bool) { return cpu(r).ProcUsPerOp, cpu(r).ProcUsPerOp > 0 }}
	mBytes   = metric{"bytes/conn", "bytes_per_conn", func(r *loadgen.Result) (float64, bool) { return r.BytesPerConn, r.Conns > 0 }}
	mConns   = metric{"conns", "conns", func(r *loadgen.Result) (float64, bool) { return float64(r.Conns), r.Conns > 0 }}
	mJit50   = metric{"jitter p50 ms", "jitter_p50_ms", tick(func(r *loadgen.Result) uint64 { return r.Tick.Jitter.P50 })}
	mJit99   = metric{"jitter p99 ms", "jitter_p99_ms", tick(func(r *loadgen.Result) uint64 { return r.Tick.Jitter.P99 })}
	mJitMax  = metric{"jitter max ms", "jitter_max_ms", tick(func(r *loadgen.Result) uint64 { return r.Tick.Jitter.Max })}
	mBcastPS = metric{"broadcasts/s", "broadcasts_per_sec", func(r *loadgen.Result) (float64, bool) { return r.BroadcastsPerSec, r.Broadcasts > 0 }}
)

func tick(f func(*loadgen.Result) uint64) func(*loadgen.Result) (float64, bool) {
	return func(r *loadgen.Result) (float64, bool) {
		if r.Tick == nil || r.Tick.Interval.Count == 0 {
			return 0, false
		}
		return float64(f(r)) / 1e6, true
	}
}

func cpu(r *loadgen.Result) *loadgen.CPU {
	if r.CPU == nil {
		return &loadgen.CPU{}
	}
	return r.CPU
}

func metricsFor(mode string) []metric {
	switch mode {
	case "echo":
		return []metric{mOps, mP50, mP99, mP999, mCoreUs, mProcUs}
	case "bcast":
		d := mOps
		d.name = "deliveries/s"
		p50, p99, p999 := mP50, mP99, mP999
		p50.name, p99.name, p999.name = "fan-out p50 µs", "fan-out p99 µs", "fan-out p999 µs"
		return []metric{d, mBcastPS, p50, p99, p999, mCoreUs, mProcUs}
	case "idle":
		return []metric{mBytes, mConns}
	case "tick":
		return []metric{mJit50, mJit99, mJitMax, mOps, mP99, mCoreUs}
	}
	return nil
}

// simpleName returns the first SimpleServer variant among impls.
func simpleName(impls []string) string {
	for _, i := range impls {
		if strings.HasPrefix(i, "simple") {
			return i
		}
	}
	return ""
}

// Summarize folds the runs into one Row per scenario and metric.
func Summarize(scen []Scenario, impls []string, runs []Run) []Row {
	var rows []Row
	simple := simpleName(impls)
	for _, s := range scen {
		for _, m := range metricsFor(s.Mode) {
			row := Row{Scenario: s.Key, Label: s.Label, Metric: m.name, Key: m.key, Cells: map[string]Cell{}}
			for _, impl := range impls {
				var vals []float64
				var c Cell
				for _, r := range runs {
					if r.Scenario != s.Key || r.Impl != impl || r.Result == nil || r.Error != "" {
						continue
					}
					v, ok := m.get(r.Result)
					if !ok {
						continue
					}
					vals = append(vals, v)
					if r.Result.CPU != nil {
						c.Noisy = c.Noisy || r.Result.CPU.ForeignUtil > foreignLimit
						c.GenBound = c.GenBound || r.Result.CPU.ClientUtil > genLimit
					}
				}
				if len(vals) == 0 {
					continue
				}
				slices.Sort(vals)
				c.N, c.Min, c.Max, c.Median = len(vals), vals[0], vals[len(vals)-1], median(vals)
				row.Cells[impl] = c
			}
			if sc, ok := row.Cells[simple]; ok && simple != "" {
				if rc, ok := row.Cells["raw"]; ok && rc.Median != 0 {
					row.VsRaw = sc.Median / rc.Median
				}
				if tc, ok := row.Cells["std"]; ok && tc.Median != 0 {
					row.VsStd = sc.Median / tc.Median
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// WriteTable prints rows as an aligned text table, or as Markdown.
func WriteTable(w io.Writer, rows []Row, impls []string, markdown bool) {
	simple := simpleName(impls)
	head := []string{"scenario", "metric"}
	for _, i := range impls {
		head = append(head, i+" median [min..max]")
	}
	if simple != "" {
		head = append(head, simple+"/raw", simple+"/std")
	}
	table := [][]string{head}
	noisy, gen := false, false
	prev := ""
	for _, r := range rows {
		label := r.Label
		if label == prev && !markdown {
			label = ""
		}
		prev = r.Label
		line := []string{label, r.Metric}
		for _, i := range impls {
			c, ok := r.Cells[i]
			if !ok {
				line = append(line, "-")
				continue
			}
			s := sig3(c.Median)
			if c.N > 1 {
				s += " [" + sig3(c.Min) + ".." + sig3(c.Max) + "]"
			}
			if c.Noisy && strings.Contains(r.Metric, "µs/op") {
				s += " *"
				noisy = true
			}
			if c.GenBound && strings.HasSuffix(r.Metric, "/s") {
				s += " +"
				gen = true
			}
			line = append(line, s)
		}
		if simple != "" {
			line = append(line, ratio(r.VsRaw), ratio(r.VsStd))
		}
		table = append(table, line)
	}
	if markdown {
		for i, l := range table {
			fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
			if i == 0 {
				fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(l)))
			}
		}
	} else {
		widths := make([]int, len(head))
		for _, l := range table {
			for i, c := range l {
				widths[i] = max(widths[i], len([]rune(c)))
			}
		}
		for _, l := range table {
			var b strings.Builder
			for i, c := range l {
				b.WriteString(c)
				if i < len(l)-1 {
					b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
				}
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
	}
	if noisy || gen {
		fmt.Fprintln(w)
	}
	if noisy {
		fmt.Fprintf(w, "* other processes used more than %.0f%% of the server's core in some repetition: srv-core µs/op is inflated there; srv-proc µs/op is not.\n", 100*foreignLimit)
		if markdown {
			fmt.Fprintln(w)
		}
	}
	if gen {
		fmt.Fprintf(w, "+ the load generator used more than %.1f cores in some repetition: that throughput is (partly) the generator's limit; compare srv-core µs/op.\n", genLimit)
	}
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", v)
}

// sig3 formats v with three significant digits and a k/M suffix.
func sig3(v float64) string {
	a := math.Abs(v)
	unit := ""
	switch {
	case a >= 999.5e3:
		v, a, unit = v/1e6, a/1e6, "M"
	case a >= 9999.5:
		v, a, unit = v/1e3, a/1e3, "k"
	}
	switch {
	case a >= 99.95:
		return fmt.Sprintf("%.0f%s", v, unit)
	case a >= 9.995:
		return fmt.Sprintf("%.1f%s", v, unit)
	case a >= 0.9995 || unit != "":
		return fmt.Sprintf("%.2f%s", v, unit)
	}
	return fmt.Sprintf("%.3f", v)
}

func human(v float64) string { return sig3(v) }

// Meta describes the machine and the run.
type Meta struct {
	Date        string `json:"date"`                   // start, UTC
	GoVersion   string `json:"go_version"`             // toolchain of the bench binary
	Kernel      string `json:"kernel"`                 // Linux release
	CPU         string `json:"cpu"`                    // model name
	NumCPU      int    `json:"num_cpu"`                // logical CPUs
	ClockTicks  int    `json:"clk_tck"`                // USER_HZ
	NoFileHard  uint64 `json:"nofile_hard"`            // RLIMIT_NOFILE hard limit
	Pinning     string `json:"pinning"`                // how server and generator were pinned
	Command     string `json:"command"`                // the command line
	Reps        int    `json:"reps"`                   // repetitions
	Duration    string `json:"duration"`               // window per cell
	Warmup      string `json:"warmup"`                 // warmup per cell
	LoadAvgPre  string `json:"loadavg_before"`         // /proc/loadavg at the start
	Elapsed     string `json:"elapsed"`                // wall time of the runs
	GitRevision string `json:"git_revision,omitempty"` // HEAD, +uncommitted when the tree differs
}

func collectMeta(o Options, p pin) Meta {
	m := Meta{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 MST"),
		GoVersion:  runtime.Version(),
		NumCPU:     runtime.NumCPU(),
		ClockTicks: loadgen.ClockTicks(),
		Pinning:    p.note,
		Command:    "go run ./bench/cmd/bench " + strings.Join(os.Args[1:], " "),
		Reps:       o.Reps,
		Duration:   o.Duration.String(),
		Warmup:     o.Warmup.String(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvgPre = strings.Join(f[:3], " ")
		}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		m.NoFileHard = rl.Max
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.GitRevision = strings.TrimSpace(string(out))
		// the servers were built from the working tree: say so when it
		// differs from the commit
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			m.GitRevision += "+uncommitted"
		}
	}
	return m
}

// Markdown renders m as a short paragraph for results.md.
func (m Meta) Markdown() string {
	return fmt.Sprintf("Measured %s on %s (%d CPUs, Linux %s), %s, git %s. %s. %d repetitions of %s + %s warmup per cell; load average before: %s; took %s.\n\nCommand: `%s`",
		m.Date, m.CPU, m.NumCPU, m.Kernel, m.GoVersion, m.GitRevision, m.Pinning, m.Reps, m.Duration, m.Warmup, m.LoadAvgPre, m.Elapsed, m.Command)
}
