// Command bench is the benchmark's load generator and matrix runner.
//
//	bench echo   -addr 127.0.0.1:9000 -conns 100 -depth 16 -size 64 [-headers N] [-duration 5s -warmup 1s]
//	bench bcast  -addr 127.0.0.1:9000 -conns 1000 -depth 16 -size 64
//	bench idle   -addr 127.0.0.1:9000 -pid PID -conns 10000   (-conns -1: as many as the fd limit allows)
//	bench tick   -addr 127.0.0.1:9000 -pid PID -tickout FILE -conns 100 -depth 16
//	bench matrix [-reps 5] [-out bench/results] [-quick] [-impls raw,std,simple]
//
// With -ws every connection is a WebSocket client of the same protocol
// (upgraded on -wspath, default /ws), for servers that accept WebSocket.
// Every mode talks to 127.0.0.0/8 only, stops by itself, prints a summary
// and, with -json FILE ("-" for stdout), writes its result as JSON. It exits
// with status 1 when a reply or delivery was wrong or the run failed.
// See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/loadgen"
	"github.com/simpleserver-go/simpleserver/bench/matrix"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: bench echo|bcast|idle|tick|matrix [flags]   (bench MODE -h for flags)\n")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mode, args := os.Args[1], os.Args[2:]
	if mode == "matrix" {
		if err := matrix.Main(ctx, args); err != nil {
			fmt.Fprintf(os.Stderr, "bench matrix: %v\n", err)
			os.Exit(1)
		}
		return
	}
	run := map[string]func(context.Context, loadgen.Config) (*loadgen.Result, error){
		"echo": loadgen.RunEcho, "bcast": loadgen.RunBcast, "idle": loadgen.RunIdle, "tick": loadgen.RunTick,
	}[mode]
	if run == nil {
		usage()
	}
	fs := flag.NewFlagSet("bench "+mode, flag.ExitOnError)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:9000", "server `host:port` (127.0.0.0/8 only)")
	fs.BoolVar(&cfg.WebSocket, "ws", false, "speak WebSocket (masked frames, one protocol v1 payload per binary message) instead of TCP")
	fs.StringVar(&cfg.WebSocketPath, "wspath", loadgen.DefaultWebSocketPath, "the WebSocket upgrade `path` (with -ws)")
	fs.IntVar(&cfg.Conns, "conns", 100, "connections (echo, tick), receivers (bcast), idle connections (idle; -1: fd limit)")
	fs.IntVar(&cfg.Depth, "depth", 1, "frames in flight per connection (echo, tick) or broadcasts in flight (bcast)")
	fs.IntVar(&cfg.Size, "size", 64, "MESSAGE body `bytes` (>= 8 echo, >= 16 bcast)")
	fs.IntVar(&cfg.Headers, "headers", 0, "extra headers per MESSAGE")
	fs.Float64Var(&cfg.Rate, "rate", 0, "echo, tick: pace to this many round trips/s in total (0: as fast as replies return)")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "measured window")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "load before the measured window")
	fs.IntVar(&cfg.Ops, "ops", 0, "stop after this many round trips or broadcasts instead of -duration")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "extra time allowed for draining, dialing and -ops runs")
	fs.IntVar(&cfg.ServerPID, "pid", 0, "server process id (idle, tick; also per-process server CPU)")
	fs.IntVar(&cfg.ServerCPU, "servercpu", -1, "core the server is pinned to: report its busy time per operation (-1: off)")
	fs.DurationVar(&cfg.Settle, "settle", 2*time.Second, "idle: wait after connecting before reading RSS")
	fs.StringVar(&cfg.TickOut, "tickout", "", "tick: the server's -tickout file")
	jsonOut := fs.String("json", "", "write the result as JSON to this `file` (- for stdout)")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.Parse(args)
	if !*quiet {
		cfg.Log = os.Stderr
	}
	res, err := run(ctx, cfg)
	if res != nil {
		if *jsonOut != "-" {
			Print(os.Stdout, res)
		}
		if *jsonOut != "" {
			if werr := writeJSON(*jsonOut, res); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", mode, err)
		os.Exit(1)
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Print writes a human-readable summary of r.
func Print(w io.Writer, r *loadgen.Result) {
	us := func(ns uint64) float64 { return float64(ns) / 1e3 }
	if r.WebSocket {
		fmt.Fprint(w, "WebSocket ")
	}
	switch r.Mode {
	case "idle":
		fmt.Fprintf(w, "idle %s: %d connections in %.2fs; server RSS %.1f -> %.1f MiB: %.0f bytes per connection (RLIMIT_NOFILE %d%s)\n",
			r.Addr, r.Conns, r.ConnectSec, float64(r.RSSBefore)/(1<<20), float64(r.RSSAfter)/(1<<20), r.BytesPerConn, r.NoFile, map[bool]string{true: ", clamped"}[r.NoFileClamped])
		return
	case "bcast":
		fmt.Fprintf(w, "bcast %s: receivers=%d depth=%d size=%d headers=%d window=%.2fs\n", r.Addr, r.Conns, r.Depth, r.Size, r.Headers, r.WindowSec)
		fmt.Fprintf(w, "  deliveries: %d (%.0f/s), broadcasts: %d (%.0f/s); each receiver got %d..%d; sender got %d; mismatches %d\n",
			r.Ops, r.OpsPerSec, r.Broadcasts, r.BroadcastsPerSec, r.MinPerReceiver, r.MaxPerReceiver, r.SenderReceived, r.Mismatches)
	default:
		fmt.Fprintf(w, "%s %s: conns=%d depth=%d size=%d headers=%d rate=%.0f/s window=%.2fs\n", r.Mode, r.Addr, r.Conns, r.Depth, r.Size, r.Headers, r.Rate, r.WindowSec)
		fmt.Fprintf(w, "  round trips: %d (%.0f/s); mismatches %d\n", r.Ops, r.OpsPerSec, r.Mismatches)
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "  latency µs: p50 %.1f  p90 %.1f  p99 %.1f  p999 %.1f  max %.1f\n", us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max))
	}
	if l := r.Complete; l != nil {
		fmt.Fprintf(w, "  broadcast complete µs: p50 %.1f  p99 %.1f  p999 %.1f  max %.1f\n", us(l.P50), us(l.P99), us(l.P999), us(l.Max))
	}
	if c := r.CPU; c != nil {
		if c.Core >= 0 {
			fmt.Fprintf(w, "  server core %d: %.0f%% busy, %.3f µs/op", c.Core, 100*c.CoreUtil, c.CoreUsPerOp)
			if c.ProcSec > 0 {
				fmt.Fprintf(w, " (server process alone %.3f µs/op; other processes used %.0f%% of the core)", c.ProcUsPerOp, 100*c.ForeignUtil)
			}
			fmt.Fprintln(w)
		} else if c.ProcSec > 0 {
			fmt.Fprintf(w, "  server process: %.3f µs/op\n", c.ProcUsPerOp)
		}
		fmt.Fprintf(w, "  load generator: %.2f cores\n", c.ClientUtil)
	}
	if t := r.Tick; t != nil {
		ms := func(ns uint64) float64 { return float64(ns) / 1e6 }
		fmt.Fprintf(w, "  tick %.3f ms: %d intervals; jitter ms p50 %.3f  p99 %.3f  p999 %.3f  max %.3f\n",
			float64(t.PeriodNs)/1e6, t.Interval.Count, ms(t.Jitter.P50), ms(t.Jitter.P99), ms(t.Jitter.P999), ms(t.Jitter.Max))
	}
}
