package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/hist"
)

// echoRun is the shared state of an echo (or tick) run.
type echoRun struct {
	cfg      *Config
	tmpl     *template
	quota    uint64 // per-connection round trips in an Ops run (0: timed)
	interval int64  // per-connection ns between sends with a Rate (0: as fast as possible)
	phase    atomic.Int32
	closing  atomic.Bool
	hs       shards
	mismatch atomic.Uint64
	err      firstErr
	wg       sync.WaitGroup
}

// RunEcho runs echo mode: Conns connections each keep Depth MESSAGE frames
// in flight; every reply must be byte-identical to its request. Operations
// are round trips.
func RunEcho(ctx context.Context, cfg Config) (*Result, error) {
	return runEcho(ctx, cfg, "echo", nil, nil)
}

// runEcho is RunEcho with hooks called right after the measured window
// starts and right after it ends (tick mode uses them).
func runEcho(ctx context.Context, cfg Config, mode string, onStart func() error, onEnd func(*Result) error) (*Result, error) {
	cfg.defaults()
	if cfg.Conns <= 0 {
		return nil, errors.New("echo: -conns must be > 0")
	}
	tmpl, err := newTemplate(cfg.Size, cfg.Headers, false, cfg.WebSocket)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: mode, Addr: cfg.Addr, WebSocket: cfg.WebSocket, Conns: cfg.Conns, Depth: cfg.Depth, Size: cfg.Size, Headers: cfg.Headers, Rate: cfg.Rate}
	cfg.logf("%s: dialing %d connections to %s", mode, cfg.Conns, cfg.Addr)
	conns, err := dialAll(ctx, &cfg, cfg.Conns, 64, false)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)

	e := &echoRun{cfg: &cfg, tmpl: tmpl}
	deadline := time.Now().Add(cfg.Warmup + cfg.Duration + cfg.Timeout)
	if cfg.Ops > 0 {
		e.quota = uint64((cfg.Ops + cfg.Conns - 1) / cfg.Conns)
		e.phase.Store(phaseMeasure)
		deadline = time.Now().Add(cfg.Timeout)
	}
	if cfg.Rate > 0 {
		e.interval = int64(float64(time.Second) * float64(cfg.Conns) / cfg.Rate)
	}
	for _, c := range conns {
		c.SetDeadline(deadline)
	}
	var w *window
	if cfg.Ops > 0 {
		w = startWindow(&cfg)
	}
	for i, c := range conns {
		e.wg.Add(1)
		go e.worker(i, c)
	}

	if cfg.Ops > 0 {
		if !waitTimeout(&e.wg, cfg.Timeout) {
			e.err.set(fmt.Errorf("%s: %d round trips not done within %v", mode, cfg.Ops, cfg.Timeout))
		}
		w.stop()
	} else {
		ok := sleep(ctx, cfg.Warmup)
		w = startWindow(&cfg)
		e.phase.Store(phaseMeasure)
		if ok && onStart != nil {
			e.err.set(onStart())
		}
		cfg.logf("%s: measuring for %v", mode, cfg.Duration)
		sleep(ctx, cfg.Duration)
		e.phase.Store(phaseStop)
		w.stop()
		if onEnd != nil {
			e.err.set(onEnd(res))
		}
		// drain: every in-flight reply must still arrive and match
		if !waitTimeout(&e.wg, cfg.Timeout) {
			e.err.set(fmt.Errorf("%s: in-flight replies not drained within %v", mode, cfg.Timeout))
		}
	}
	e.closing.Store(true)
	closeAll(conns)
	e.wg.Wait() // bounded: the connections are closed

	h := e.hs.merged()
	res.fill(w, h, e.mismatch.Load())
	if err := e.err.get(); err != nil {
		res.Error = err.Error()
		return res, err
	}
	if ctx.Err() != nil {
		res.Error = ctx.Err().Error()
		return res, ctx.Err()
	}
	return res, nil
}

// fill sets the throughput, latency and CPU fields of r from a window and
// its latency histogram.
func (r *Result) fill(w *window, h *hist.Histogram, mismatches uint64) {
	r.WindowSec = w.seconds()
	r.Ops = h.Count()
	r.OpsPerSec = float64(r.Ops) / r.WindowSec
	s := h.Summarize()
	r.Latency = &s
	r.CPU = w.cpu(r.Ops)
	r.Mismatches = mismatches
}

// worker drives one connection: it writes Depth frames, then for every
// batch of replies it reads, checks and times each reply and writes as many
// new frames in one write, until the run stops and all replies are in. With
// a rate (Config.Rate) a frame is only sent when the connection's share of
// the rate allows it; the worker sleeps while nothing is in flight.
func (e *echoRun) worker(i int, c *net.TCPConn) {
	defer e.wg.Done()
	t := e.tmpl
	fl := len(t.frame)
	depth := uint64(e.cfg.Depth)
	h := e.hs.get(i)
	rbuf := make([]byte, max(int(depth)*fl+fl, 4096))
	wbuf := make([]byte, 0, int(depth)*len(t.send))
	sendAt := make([]int64, depth)
	var sent, recv uint64
	running := func() bool {
		return e.phase.Load() != phaseStop && (e.quota == 0 || sent < e.quota)
	}
	// pacing: the next send time on a fixed timeline, staggered per connection
	interval := e.interval
	nextAt := nanotime() + interval*int64(i)/int64(e.cfg.Conns)
	token := func(now int64) bool {
		if interval == 0 {
			return true
		}
		if now < nextAt {
			return false
		}
		nextAt += interval
		if nextAt < now-interval { // fell far behind: do not burst to catch up
			nextAt = now
		}
		return true
	}
	fail := func(err error) {
		if !e.closing.Load() {
			e.err.set(fmt.Errorf("connection %d: %w (after %d replies)", i, err, recv))
		}
	}
	flush := func(first uint64) bool {
		if len(wbuf) == 0 {
			return true
		}
		ts := nanotime()
		for s := first; s < sent; s++ {
			sendAt[s%depth] = ts
		}
		_, err := c.Write(wbuf)
		if err != nil {
			fail(err)
		}
		return err == nil
	}

	have := 0
	for {
		if recv == sent { // nothing in flight: send what is allowed, or stop
			if !running() {
				return
			}
			if interval > 0 {
				if d := nextAt - nanotime(); d > 0 {
					time.Sleep(time.Duration(d))
				}
			}
			wbuf = wbuf[:0]
			first := sent
			now := nanotime()
			for sent-recv < depth && running() && token(now) {
				wbuf = t.append(wbuf, sent, 0)
				sent++
			}
			if !flush(first) {
				return
			}
			continue
		}
		n, err := c.Read(rbuf[have:])
		if err != nil {
			fail(err)
			return
		}
		now := nanotime()
		have += n
		measuring := e.phase.Load() == phaseMeasure
		wbuf = wbuf[:0]
		first := sent
		p := 0
		for have-p >= fl {
			f := rbuf[p : p+fl]
			if seq, _, ok := t.check(f); !ok || seq != recv {
				e.mismatch.Add(1)
				fail(fmt.Errorf("reply %d is not the frame sent: got % x", recv, f[:min(len(f), 48)]))
				return
			}
			if measuring {
				h.Record(uint64(now - sendAt[recv%depth]))
			}
			recv++
			p += fl
		}
		for sent-recv < depth && running() && token(now) {
			wbuf = t.append(wbuf, sent, 0)
			sent++
		}
		if have-p >= 4 && !bytes.Equal(rbuf[p:p+4], t.frame[:4]) {
			e.mismatch.Add(1)
			fail(fmt.Errorf("reply %d has length prefix % x, want % x", recv, rbuf[p:p+4], t.frame[:4]))
			return
		}
		have = copy(rbuf, rbuf[p:have])
		if !flush(first) {
			return
		}
	}
}
