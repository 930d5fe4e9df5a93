// Package matrix runs the benchmark matrix: every scenario against every
// server, each server in a fresh benchserver process pinned to one core
// (GOMAXPROCS=1) and the load generator pinned to another, servers
// interleaved across repetitions. It prints a table of medians, spreads and
// SimpleServer's ratios to raw gnet and std net, and writes the runs and
// the summary as JSON, the table as Markdown and a PNG chart.
package matrix

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/loadgen"
)

// Scenario is one row group of the matrix: a load generator mode and its
// parameters.
type Scenario struct {
	// Key names the scenario in JSON and on the command line (-only).
	Key string `json:"key"`
	// Label is the short name used in the table and the chart.
	Label string `json:"label"`
	// Mode is the load generator mode: echo, bcast, idle or tick.
	Mode string `json:"mode"`
	// Conns, Depth and Size are the mode's -conns, -depth and -size
	// (Conns -1 for idle: as many as the fd limit allows).
	Conns int `json:"conns"`
	Depth int `json:"depth"` // frames or broadcasts in flight
	Size  int `json:"size"`  // body bytes
	// Rate paces the echo load of a tick scenario (round trips/s; 0: flat out).
	Rate int `json:"rate,omitempty"`
}

// Scenarios returns the matrix of issue 5; quick shrinks the idle counts
// and drops the fd-limit idle run. Tick jitter is measured twice: under a
// paced echo load that leaves the server idle most of the time (the normal
// state of a 120 Hz game server) and under flat-out echo load.
func Scenarios(quick bool) []Scenario {
	s := []Scenario{
		{"echo-1x1-64", "echo 1×1 64B", "echo", 1, 1, 64, 0},
		{"echo-100x16-64", "echo 100×16 64B", "echo", 100, 16, 64, 0},
		{"echo-1000x4-64", "echo 1000×4 64B", "echo", 1000, 4, 64, 0},
		{"echo-100x16-1k", "echo 100×16 1KiB", "echo", 100, 16, 1024, 0},
		{"bcast-1000-d1", "bcast 1000 d1", "bcast", 1000, 1, 64, 0},
		{"bcast-1000-d16", "bcast 1000 d16", "bcast", 1000, 16, 64, 0},
		{"idle-10k", "idle 10k", "idle", 10000, 0, 0, 0},
		{"idle-max", "idle fd-limit", "idle", -1, 0, 0, 0},
		{"tick-120-20k", "tick 120Hz, echo 20k/s", "tick", 100, 1, 64, 20000},
		{"tick-120-sat", "tick 120Hz, echo flat out", "tick", 100, 16, 64, 0},
	}
	if quick {
		s[6] = Scenario{"idle-1k", "idle 1k", "idle", 1000, 0, 0, 0}
		s = append(s[:7], s[8:]...)
	}
	return s
}

// Options configures a matrix run.
type Options struct {
	Reps      int           // repetitions of the whole matrix
	Out       string        // directory for results.json, results.md and chart.png
	Impls     []string      // servers, in repetition 1's order
	Only      []string      // scenario keys to run (nil: all)
	Duration  time.Duration // measured window per cell
	Warmup    time.Duration // load before the window
	Settle    time.Duration // idle: wait before reading RSS
	Headers   int           // extra headers per MESSAGE
	ServerCPU int           // core the server is pinned to
	ClientCPU int           // core the load generator is pinned to
	TickHz    int           // update rate of the tick scenarios
	Quick     bool          // smoke matrix: smaller idle counts, no fd-limit idle run
	Server    string        // prebuilt benchserver, or "" to build it
}

// Run is one cell of one repetition.
type Run struct {
	Rep      int             `json:"rep"`              // repetition, from 1
	Scenario string          `json:"scenario"`         // Scenario.Key
	Impl     string          `json:"impl"`             // server name
	Result   *loadgen.Result `json:"result,omitempty"` // the load generator's result
	Error    string          `json:"error,omitempty"`  // why the run failed
}

// Main parses the matrix flags from args and runs it.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench matrix", flag.ExitOnError)
	var o Options
	impls := fs.String("impls", "raw,std,simple", "servers to compare, in rep-1 order (raw, raw-perframe, std, simple, simple-inline, simple-ws, simple-ws-inline)")
	only := fs.String("only", "", "comma-separated scenario keys to run (default all)")
	fs.IntVar(&o.Reps, "reps", 5, "repetitions of the whole matrix")
	fs.StringVar(&o.Out, "out", "bench/results", "directory for results.json, results.md and chart.png")
	fs.BoolVar(&o.Quick, "quick", false, "smoke run: 1 rep, 1 s cells, small idle count")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "measured window per cell")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "warmup per cell")
	fs.DurationVar(&o.Settle, "settle", 2*time.Second, "idle: wait before reading RSS")
	fs.IntVar(&o.Headers, "headers", 0, "extra headers per MESSAGE")
	fs.IntVar(&o.ServerCPU, "servercpu", 0, "core to pin the server to")
	fs.IntVar(&o.ClientCPU, "clientcpu", 1, "core to pin the load generator to")
	fs.IntVar(&o.TickHz, "tick", 120, "update rate of the tick scenario")
	fs.StringVar(&o.Server, "benchserver", "", "use this benchserver binary instead of building one")
	fs.Parse(args)
	o.Impls = splitList(*impls)
	o.Only = splitList(*only)
	if o.Quick {
		o.Reps = 1
		if !flagSet(fs, "duration") {
			o.Duration = time.Second
		}
		if !flagSet(fs, "warmup") {
			o.Warmup = 300 * time.Millisecond
		}
		if !flagSet(fs, "settle") {
			o.Settle = 500 * time.Millisecond
		}
	}
	return Execute(ctx, o, os.Stdout, os.Stderr)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// implArgs maps a matrix server name to benchserver flags. The "-ws"
// variants are SimpleServer with WebSocket on, driven by WebSocket clients
// (wsClients).
func implArgs(name string) ([]string, error) {
	switch name {
	case "raw", "std", "simple":
		return []string{"-impl", name}, nil
	case "raw-perframe":
		return []string{"-impl", "raw", "-perframe"}, nil
	case "simple-inline":
		return []string{"-impl", "simple", "-inline"}, nil
	case "simple-ws":
		return []string{"-impl", "simple", "-ws"}, nil
	case "simple-ws-inline":
		return []string{"-impl", "simple", "-ws", "-inline"}, nil
	}
	return nil, fmt.Errorf("unknown server %q", name)
}

// wsClients reports whether the load generator speaks WebSocket to impl.
func wsClients(impl string) bool { return strings.Contains(impl, "-ws") }

// Execute runs the matrix described by o, printing progress to log and the
// table to out, and writes the result files into o.Out.
func Execute(ctx context.Context, o Options, out, log io.Writer) error {
	scen := Scenarios(o.Quick)
	if len(o.Only) > 0 {
		var keep []Scenario
		for _, s := range scen {
			for _, k := range o.Only {
				if s.Key == k {
					keep = append(keep, s)
				}
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("-only %v matches no scenario", o.Only)
		}
		scen = keep
	}
	for _, name := range o.Impls {
		if _, err := implArgs(name); err != nil {
			return err
		}
	}
	if len(o.Impls) == 0 || o.Reps < 1 {
		return errors.New("need at least one server and one rep")
	}
	tmp, err := os.MkdirTemp("", "benchmatrix-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}

	serverBin := o.Server
	if serverBin == "" {
		serverBin = filepath.Join(tmp, "benchserver")
		fmt.Fprintf(log, "building benchserver...\n")
		build := exec.CommandContext(ctx, "go", "build", "-o", serverBin, "./bench/cmd/benchserver")
		build.Stdout, build.Stderr = log, log
		if err := build.Run(); err != nil {
			return fmt.Errorf("building benchserver (run from the repository root): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pin := pinning(o, log)
	meta := collectMeta(o, pin)

	total := o.Reps * len(scen) * len(o.Impls)
	fmt.Fprintf(log, "matrix: %d scenarios × %d servers × %d reps = %d runs, about %v\n",
		len(scen), len(o.Impls), o.Reps, total, estimate(o, scen).Round(time.Minute))
	var runs []Run
	started := time.Now()
	n := 0
	for rep := 1; rep <= o.Reps; rep++ {
		order := rotate(o.Impls, rep-1)
		for _, s := range scen {
			for _, impl := range order {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				n++
				r := runCell(ctx, o, pin, serverBin, self, tmp, s, impl)
				r.Rep = rep
				runs = append(runs, r)
				fmt.Fprintf(log, "[%d/%d %v] rep %d %-15s %-13s %s\n", n, total, time.Since(started).Round(time.Second), rep, s.Key, impl, brief(r))
			}
		}
	}
	meta.Elapsed = time.Since(started).Round(time.Second).String()
	sum := Summarize(scen, o.Impls, runs)
	var table bytes.Buffer
	WriteTable(&table, sum, o.Impls, false)
	fmt.Fprintf(out, "\n%s", table.String())

	doc := struct {
		Meta    Meta       `json:"meta"`
		Summary []Row      `json:"summary"`
		Runs    []Run      `json:"runs"`
		Scen    []Scenario `json:"scenarios"`
	}{meta, sum, runs, scen}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Out, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	fmt.Fprintf(&md, "%s\n\n", meta.Markdown())
	WriteTable(&md, sum, o.Impls, true)
	if err := os.WriteFile(filepath.Join(o.Out, "results.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	if err := Chart(filepath.Join(o.Out, "chart.png"), scen, o.Impls, sum, meta); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	fmt.Fprintf(log, "wrote %s/results.json, results.md and chart.png\n", o.Out)
	for _, r := range runs {
		if r.Error != "" {
			return fmt.Errorf("some runs failed (first: rep %d %s %s: %s)", r.Rep, r.Scenario, r.Impl, r.Error)
		}
	}
	return nil
}

func rotate(s []string, k int) []string {
	k %= len(s)
	return append(append([]string(nil), s[k:]...), s[:k]...)
}

// estimate guesses the matrix's wall time.
func estimate(o Options, scen []Scenario) time.Duration {
	var d time.Duration
	for _, s := range scen {
		switch s.Mode {
		case "idle":
			d += o.Settle + 8*time.Second
		default:
			d += o.Warmup + o.Duration + 1500*time.Millisecond
		}
	}
	return d * time.Duration(o.Reps*len(o.Impls))
}

// pin holds the command prefixes that pin the server and the load generator.
type pin struct {
	server, client []string
	note           string
}

func pinning(o Options, log io.Writer) pin {
	ts, err := exec.LookPath("taskset")
	if err != nil || runtime.NumCPU() < 2 {
		note := "unpinned: taskset not found or fewer than 2 CPUs; server-core figures are not meaningful"
		fmt.Fprintf(log, "warning: %s\n", note)
		return pin{note: note}
	}
	return pin{
		server: []string{ts, "-c", strconv.Itoa(o.ServerCPU)},
		client: []string{ts, "-c", strconv.Itoa(o.ClientCPU)},
		note:   fmt.Sprintf("server on core %d (GOMAXPROCS=1), load generator on core %d", o.ServerCPU, o.ClientCPU),
	}
}

// runCell starts a fresh server, runs one scenario against it and stops it.
func runCell(ctx context.Context, o Options, p pin, serverBin, self, tmp string, s Scenario, impl string) Run {
	r := Run{Scenario: s.Key, Impl: impl}
	fail := func(err error) Run { r.Error = err.Error(); return r }
	args, _ := implArgs(impl)
	args = append(args, "-addr", "127.0.0.1:0", "-loops", "1")
	tickOut := filepath.Join(tmp, "tick.json")
	if s.Mode == "tick" {
		args = append(args, "-tick", strconv.Itoa(o.TickHz), "-tickout", tickOut)
	}
	argv := append(append([]string(nil), p.server...), serverBin)
	argv = append(argv, args...)
	srvCmd := exec.Command(argv[0], argv[1:]...)
	srvCmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var srvErr bytes.Buffer
	srvCmd.Stderr = &srvErr
	stdout, err := srvCmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := srvCmd.Start(); err != nil {
		return fail(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
		exited <- srvCmd.Wait()
	}()
	stop := func() {
		_ = srvCmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = srvCmd.Process.Kill()
			<-exited
		}
	}
	var info map[string]string
	select {
	case line := <-lines:
		info = keyValues(line)
	case err := <-exited:
		return fail(fmt.Errorf("benchserver exited: %v: %s", err, strings.TrimSpace(srvErr.String())))
	case <-time.After(15 * time.Second):
		stop()
		return fail(errors.New("benchserver did not report listening within 15s"))
	}
	defer stop()
	addr, pid := info["addr"], info["pid"]
	if addr == "" || pid == "" {
		return fail(fmt.Errorf("unexpected benchserver output %q", info))
	}
	time.Sleep(200 * time.Millisecond) // let the fresh process settle (idle RSS baseline)

	resFile := filepath.Join(tmp, "result.json")
	os.Remove(resFile)
	cargs := []string{s.Mode, "-addr", addr, "-pid", pid, "-q", "-json", resFile,
		"-servercpu", strconv.Itoa(o.ServerCPU), "-conns", strconv.Itoa(s.Conns)}
	timeout := o.Warmup + o.Duration + 90*time.Second
	switch s.Mode {
	case "idle":
		cargs = append(cargs, "-settle", o.Settle.String())
	default:
		cargs = append(cargs, "-depth", strconv.Itoa(s.Depth), "-size", strconv.Itoa(s.Size),
			"-headers", strconv.Itoa(o.Headers), "-duration", o.Duration.String(), "-warmup", o.Warmup.String())
	}
	if s.Mode == "tick" {
		cargs = append(cargs, "-tickout", tickOut)
	}
	if s.Rate > 0 {
		cargs = append(cargs, "-rate", strconv.Itoa(s.Rate))
	}
	if wsClients(impl) {
		cargs = append(cargs, "-ws")
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cargv := append(append(append([]string(nil), p.client...), self), cargs...)
	cli := exec.CommandContext(cctx, cargv[0], cargv[1:]...)
	var cliErr bytes.Buffer
	cli.Stderr = &cliErr
	cli.Stdout = io.Discard
	runErr := cli.Run()
	if b, err := os.ReadFile(resFile); err == nil {
		var res loadgen.Result
		if err := json.Unmarshal(b, &res); err == nil {
			r.Result = &res
		}
	}
	if runErr != nil {
		msg := strings.TrimSpace(cliErr.String())
		if r.Result != nil && r.Result.Error != "" {
			msg = r.Result.Error
		}
		return fail(fmt.Errorf("load generator: %v: %s", runErr, msg))
	}
	if r.Result == nil {
		return fail(errors.New("load generator wrote no result"))
	}
	select {
	case err := <-exited:
		return fail(fmt.Errorf("benchserver died during the run: %v: %s", err, strings.TrimSpace(srvErr.String())))
	default:
	}
	return r
}

func keyValues(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

// brief is the progress line for a finished run.
func brief(r Run) string {
	if r.Error != "" {
		return "ERROR " + r.Error
	}
	res := r.Result
	switch res.Mode {
	case "idle":
		return fmt.Sprintf("%d conns: %.0f B/conn", res.Conns, res.BytesPerConn)
	}
	s := fmt.Sprintf("%s ops/s  p99 %s µs", human(res.OpsPerSec), sig3(float64(res.Latency.P99)/1e3))
	if c := res.CPU; c != nil {
		s += fmt.Sprintf("  core %s µs/op (%.0f%% busy, foreign %.0f%%, gen %.2f cores)", sig3(c.CoreUsPerOp), 100*c.CoreUtil, 100*c.ForeignUtil, c.ClientUtil)
	}
	if t := res.Tick; t != nil {
		s += fmt.Sprintf("  tick jitter p99 %.3f ms", float64(t.Jitter.P99)/1e6)
	}
	return s
}
