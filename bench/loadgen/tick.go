package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/srv"
)

// Tick signals: the benchserver command starts a new tick measurement
// window on TickResetSignal and writes its tick summary to its -tickout
// file on TickDumpSignal (and on exit).
const (
	TickResetSignal = syscall.SIGUSR1
	TickDumpSignal  = syscall.SIGUSR2
)

// RunTick runs tick mode: echo load as in RunEcho while the server updates
// at its tick rate. At the start of the measured window it signals the
// server (ServerPID) to reset its tick statistics; at the end it signals it
// to write them to TickOut and reads them back into Result.Tick.
func RunTick(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.ServerPID <= 0 || cfg.TickOut == "" {
		return nil, errors.New("tick: needs the server's pid (-pid) and its -tickout file")
	}
	if cfg.Ops > 0 {
		return nil, errors.New("tick: needs a timed run (-duration), not -ops")
	}
	start := func() error {
		return syscall.Kill(cfg.ServerPID, TickResetSignal)
	}
	end := func(r *Result) error {
		ts, err := RequestTickSummary(ctx, cfg.ServerPID, cfg.TickOut, 5*time.Second)
		r.Tick = ts
		return err
	}
	return runEcho(ctx, cfg, "tick", start, end)
}

// RequestTickSummary removes path, signals pid to write its tick summary
// there, and waits up to timeout for it to appear.
func RequestTickSummary(ctx context.Context, pid int, path string, timeout time.Duration) (*srv.TickSummary, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := syscall.Kill(pid, TickDumpSignal); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b, err := os.ReadFile(path)
		if err == nil {
			var ts srv.TickSummary
			if err := json.Unmarshal(b, &ts); err != nil {
				return nil, fmt.Errorf("tick summary %s: %w", path, err)
			}
			return &ts, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, fmt.Errorf("tick: server %d wrote no summary to %s within %v", pid, path, timeout)
}
