// Package loadgen is the benchmark's load generator: the client side of the
// echo, bcast, idle and tick modes, usable from the bench command and from
// tests. It is built to cost little per operation so that the server, not
// the generator, is measured: one goroutine per connection, replies parsed
// in place from a reused read buffer, new requests coalesced into one write
// per read, one clock read per batch, and latencies in bounded-memory
// histograms.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/hist"
	"github.com/simpleserver-go/simpleserver/bench/srv"
)

// Config is what a load generator run does. Zero fields take the defaults
// noted; each mode uses a subset.
type Config struct {
	// Addr is the server's loopback host:port.
	Addr string
	// WebSocket makes every connection a WebSocket client (RFC 6455, masked
	// frames, one protocol v1 payload per binary message) upgraded on
	// WebSocketPath (default "/ws") instead of a TCP one.
	WebSocket     bool
	WebSocketPath string
	// Conns is the number of connections (echo, tick), receivers (bcast) or
	// idle connections (idle; -1 means as many as the fd limit allows).
	Conns int
	// Depth is the number of frames in flight per connection (echo, tick)
	// or of broadcasts in flight (bcast). Default 1.
	Depth int
	// Size is the MESSAGE body size in bytes (default 64). The body's first
	// 8 (echo) or 16 (bcast) bytes carry a sequence number and timestamp.
	Size int
	// Headers is the number of extra headers per MESSAGE.
	Headers int
	// Rate, when > 0, paces echo and tick load to this many round trips per
	// second in total (an open-loop load that leaves the server idle
	// between requests); 0 sends as fast as replies come back.
	Rate float64
	// Warmup is run before measuring; Duration is the measured window.
	Warmup, Duration time.Duration
	// Ops, when > 0, replaces Duration: stop after this many round trips
	// (echo, tick) or broadcasts (bcast), and measure from the start.
	Ops int
	// Timeout bounds how long a run may take beyond Warmup+Duration, and an
	// Ops run altogether (default 30 s).
	Timeout time.Duration
	// ServerPID is the server's process id: RSS (idle), process CPU time
	// and tick signalling (tick) need it. 0 when unknown.
	ServerPID int
	// ServerCPU is the core the server is pinned to; its busy time from
	// /proc/stat is reported per operation. Set -1 to skip (0 is core 0).
	ServerCPU int
	// Settle is how long idle mode waits after connecting before reading
	// the server's RSS (default 2 s).
	Settle time.Duration
	// TickOut is the file the server writes its tick summary to (tick).
	TickOut string
	// Log receives progress lines (nil for none).
	Log io.Writer
}

func (c *Config) defaults() {
	if c.Depth <= 0 {
		c.Depth = 1
	}
	if c.Size == 0 {
		c.Size = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Settle <= 0 {
		c.Settle = 2 * time.Second
	}
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// CPU is the CPU cost of the measured window.
type CPU struct {
	// Core is the server's core (from Config.ServerCPU).
	Core int `json:"core"`
	// CoreBusySec is that core's busy time (user+nice+system+irq+softirq+
	// steal) during the window, whoever ran on it.
	CoreBusySec float64 `json:"core_busy_sec"`
	// CoreUtil is CoreBusySec divided by the window (1 = saturated).
	CoreUtil float64 `json:"core_util"`
	// CoreUsPerOp is CoreBusySec in microseconds per operation.
	CoreUsPerOp float64 `json:"core_us_per_op"`
	// ProcSec is the server process's own user+system time (0 without a
	// pid); it excludes softirq work but also other processes on the core.
	ProcSec float64 `json:"proc_sec"`
	// ProcUsPerOp is ProcSec in microseconds per operation.
	ProcUsPerOp float64 `json:"proc_us_per_op"`
	// CoreIRQSec is the irq+softirq part of CoreBusySec.
	CoreIRQSec float64 `json:"core_irq_sec"`
	// ForeignUtil estimates, as a fraction of the window, the time the core
	// spent on neither the server process nor interrupts: other processes
	// that ran on the server's core. Well above 0 means the figure is noisy.
	ForeignUtil float64 `json:"foreign_util"`
	// ClientUtil is the load generator's CPU time over the window, in cores.
	ClientUtil float64 `json:"client_util"`
}

// Result is the outcome of one load generator run. Latencies are in
// nanoseconds.
type Result struct {
	// Mode is echo, bcast, idle or tick; the fields up to Rate echo the
	// Config the run used (Conns is the count actually opened in idle mode).
	Mode      string  `json:"mode"`
	Addr      string  `json:"addr"`                // server address
	WebSocket bool    `json:"websocket,omitempty"` // the connections spoke WebSocket
	Conns     int     `json:"conns"`               // connections, receivers or idle connections
	Depth     int     `json:"depth"`               // frames or broadcasts in flight
	Size      int     `json:"size"`                // body bytes
	Headers   int     `json:"headers"`             // extra headers
	Rate      float64 `json:"rate,omitempty"`      // pacing, round trips/s
	// WindowSec is the measured time.
	WindowSec float64 `json:"window_sec"`
	// Ops is the number of operations in the window: round trips (echo,
	// tick) or deliveries (bcast).
	Ops uint64 `json:"ops"`
	// OpsPerSec is Ops / WindowSec.
	OpsPerSec float64 `json:"ops_per_sec"`
	// Latency is the round trip (echo, tick) or the send-to-delivery time
	// of each delivery (bcast).
	Latency *hist.Summary `json:"latency_ns,omitempty"`
	// Broadcasts counts the broadcasts completed in the window (bcast).
	Broadcasts uint64 `json:"broadcasts,omitempty"`
	// BroadcastsPerSec is Broadcasts / WindowSec.
	BroadcastsPerSec float64 `json:"broadcasts_per_sec,omitempty"`
	// Complete is the time until the last receiver got a broadcast (bcast).
	Complete *hist.Summary `json:"complete_ns,omitempty"`
	// SenderReceived counts frames the bcast sender got back (must be 0).
	SenderReceived uint64 `json:"sender_received"`
	// MinPerReceiver is the fewest broadcasts one receiver got over the
	// whole run (bcast).
	MinPerReceiver uint64 `json:"min_per_receiver,omitempty"`
	// MaxPerReceiver is the most; equal to MinPerReceiver when every
	// receiver got every broadcast.
	MaxPerReceiver uint64 `json:"max_per_receiver,omitempty"`
	// Mismatches counts replies or deliveries that were not byte-identical
	// to what was sent, or arrived out of order.
	Mismatches uint64 `json:"mismatches"`
	// CPU is the cost of the window (nil when not measured).
	CPU *CPU `json:"cpu,omitempty"`
	// RSSBefore is the server's RSS in bytes before the idle connections.
	RSSBefore int64 `json:"rss_before,omitempty"`
	// RSSAfter is its RSS with all of them open and settled.
	RSSAfter int64 `json:"rss_after,omitempty"`
	// BytesPerConn is (RSSAfter - RSSBefore) / Conns.
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`
	// ConnectSec is how long opening (and pinging) them took.
	ConnectSec float64 `json:"connect_sec,omitempty"`
	// NoFile is the RLIMIT_NOFILE in effect (idle).
	NoFile uint64 `json:"nofile,omitempty"`
	// NoFileClamped says the hard limit stopped it short of what the run wanted.
	NoFileClamped bool `json:"nofile_clamped,omitempty"`
	// Tick is the server's update-interval summary (tick mode).
	Tick *srv.TickSummary `json:"tick,omitempty"`
	// Error is set when the run failed or found wrong bytes.
	Error string `json:"error,omitempty"`
}

// phases of a timed run
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// shards spreads histogram recording over a few histograms to limit
// cache-line contention when the generator runs on several cores.
type shards [8]hist.Histogram

func (s *shards) get(i int) *hist.Histogram { return &s[i%len(s)] }

func (s *shards) merged() *hist.Histogram {
	h := new(hist.Histogram)
	for i := range s {
		h.Merge(&s[i])
	}
	return h
}

// window snapshots CPU counters at the start and end of a measured window.
type window struct {
	cfg    *Config
	t0, t1 time.Time
	core0  CoreTimes
	core1  CoreTimes
	proc0  time.Duration
	proc1  time.Duration
	self0  time.Duration
	self1  time.Duration
	coreOK bool
	procOK bool
}

func startWindow(cfg *Config) *window {
	w := &window{cfg: cfg}
	if cfg.ServerCPU >= 0 {
		var err error
		w.core0, err = ReadCoreTimes(cfg.ServerCPU)
		w.coreOK = err == nil
	}
	if cfg.ServerPID > 0 {
		var err error
		w.proc0, err = ReadProcCPU(cfg.ServerPID)
		w.procOK = err == nil
	}
	w.self0 = selfCPU()
	w.t0 = time.Now()
	return w
}

// stop closes the window.
func (w *window) stop() {
	w.t1 = time.Now()
	w.self1 = selfCPU()
	if w.coreOK {
		var err error
		w.core1, err = ReadCoreTimes(w.cfg.ServerCPU)
		w.coreOK = err == nil
	}
	if w.procOK {
		var err error
		w.proc1, err = ReadProcCPU(w.cfg.ServerPID)
		w.procOK = err == nil
	}
}

// seconds returns the window's length.
func (w *window) seconds() float64 { return w.t1.Sub(w.t0).Seconds() }

// cpu returns the window's CPU figures for ops operations.
func (w *window) cpu(ops uint64) *CPU {
	d := w.seconds()
	cpu := &CPU{Core: w.cfg.ServerCPU, ClientUtil: (w.self1 - w.self0).Seconds() / d}
	if w.coreOK {
		busy := float64(w.core1.Busy()-w.core0.Busy()) / float64(ClockTicks())
		cpu.CoreBusySec = busy
		cpu.CoreUtil = busy / d
		cpu.CoreIRQSec = float64(w.core1.IRQ+w.core1.SoftIRQ-w.core0.IRQ-w.core0.SoftIRQ) / float64(ClockTicks())
		if ops > 0 {
			cpu.CoreUsPerOp = busy * 1e6 / float64(ops)
		}
	}
	if w.procOK {
		cpu.ProcSec = (w.proc1 - w.proc0).Seconds()
		if ops > 0 {
			cpu.ProcUsPerOp = cpu.ProcSec * 1e6 / float64(ops)
		}
		if w.coreOK {
			cpu.ForeignUtil = max(0, cpu.CoreBusySec-cpu.CoreIRQSec-cpu.ProcSec) / d
		}
	}
	return cpu
}

// sleep waits for d or until ctx is done, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitTimeout waits for wg, at most d; it reports whether wg finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// firstErr keeps the first error reported by any goroutine.
type firstErr struct{ p atomic.Pointer[error] }

func (f *firstErr) set(err error) {
	if err != nil {
		f.p.CompareAndSwap(nil, &err)
	}
}

func (f *firstErr) get() error {
	if p := f.p.Load(); p != nil {
		return *p
	}
	return nil
}
