package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/hist"
	"github.com/simpleserver-go/simpleserver/proto"
)

// bcastRun is the shared state of a bcast run.
type bcastRun struct {
	cfg   *Config
	tmpl  *template
	n     int64  // receivers
	quota uint64 // broadcasts in an Ops run (0: timed)

	phase   atomic.Int32
	closing atomic.Bool
	abort   chan struct{}

	// pending[seq % len] counts deliveries of broadcast seq; the receiver
	// that makes it n signals done. Receivers see broadcasts in order, so
	// they complete in order and at most Depth slots are in use.
	pending []atomic.Int64
	done    chan struct{}

	hs          shards         // send-to-delivery latency
	complete    hist.Histogram // send-to-last-delivery latency
	perReceiver []uint64       // broadcasts each receiver got (set on exit)
	senderRecv  atomic.Uint64
	mismatch    atomic.Uint64
	err         firstErr
	wg          sync.WaitGroup
}

// RunBcast runs bcast mode: Conns receivers and one sender connect (each
// answers a PING first, so the server knows all of them), then the sender
// keeps Depth broadcasts in flight; a broadcast completes when every
// receiver has it. Operations are deliveries; the sender must receive
// nothing.
func RunBcast(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if cfg.Conns <= 0 {
		return nil, errors.New("bcast: -conns (receivers) must be > 0")
	}
	tmpl, err := newTemplate(cfg.Size, cfg.Headers, true, cfg.WebSocket)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: "bcast", Addr: cfg.Addr, WebSocket: cfg.WebSocket, Conns: cfg.Conns, Depth: cfg.Depth, Size: cfg.Size, Headers: cfg.Headers}
	cfg.logf("bcast: dialing %d receivers and 1 sender to %s", cfg.Conns, cfg.Addr)
	conns, err := dialAll(ctx, &cfg, cfg.Conns+1, 64, true)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	receivers, sender := conns[:cfg.Conns], conns[cfg.Conns]

	b := &bcastRun{
		cfg: &cfg, tmpl: tmpl, n: int64(cfg.Conns),
		abort:       make(chan struct{}),
		pending:     make([]atomic.Int64, 2*cfg.Depth),
		done:        make(chan struct{}, 2*cfg.Depth),
		perReceiver: make([]uint64, cfg.Conns),
	}
	deadline := time.Now().Add(cfg.Warmup + cfg.Duration + cfg.Timeout)
	if cfg.Ops > 0 {
		b.quota = uint64(cfg.Ops)
		b.phase.Store(phaseMeasure)
		deadline = time.Now().Add(cfg.Timeout)
	}
	for _, c := range conns {
		c.SetDeadline(deadline)
	}
	var w *window
	if cfg.Ops > 0 {
		w = startWindow(&cfg)
	}
	for i, c := range receivers {
		b.wg.Add(1)
		go b.receiver(i, c)
	}
	b.wg.Add(1)
	go b.senderReader(sender)
	senderDone := make(chan struct{})
	go b.sender(sender, senderDone)

	waitSender := func() {
		t := time.NewTimer(cfg.Timeout)
		defer t.Stop()
		select {
		case <-senderDone:
		case <-t.C:
			b.err.set(fmt.Errorf("bcast: broadcasts still incomplete %v after the sender stopped", cfg.Timeout))
			close(b.abort)
			<-senderDone
		}
	}
	if cfg.Ops > 0 {
		waitSender()
		w.stop()
	} else {
		sleep(ctx, cfg.Warmup)
		w = startWindow(&cfg)
		b.phase.Store(phaseMeasure)
		cfg.logf("bcast: measuring for %v", cfg.Duration)
		sleep(ctx, cfg.Duration)
		b.phase.Store(phaseStop)
		w.stop()
		waitSender()
	}
	// Give a stray delivery to the sender a moment to show up, then close.
	time.Sleep(20 * time.Millisecond)
	b.closing.Store(true)
	closeAll(conns)
	b.wg.Wait() // bounded: the connections are closed

	res.fill(w, b.hs.merged(), b.mismatch.Load())
	cs := b.complete.Summarize()
	res.Complete = &cs
	res.Broadcasts = cs.Count
	res.BroadcastsPerSec = float64(cs.Count) / res.WindowSec
	res.SenderReceived = b.senderRecv.Load()
	res.MinPerReceiver, res.MaxPerReceiver = ^uint64(0), 0
	for _, v := range b.perReceiver {
		res.MinPerReceiver = min(res.MinPerReceiver, v)
		res.MaxPerReceiver = max(res.MaxPerReceiver, v)
	}
	if res.MinPerReceiver != res.MaxPerReceiver {
		b.err.set(fmt.Errorf("bcast: receivers got between %d and %d broadcasts; every receiver must get every one", res.MinPerReceiver, res.MaxPerReceiver))
	}
	if res.SenderReceived > 0 {
		b.err.set(fmt.Errorf("bcast: the sender received %d frames; a broadcast must skip its sender", res.SenderReceived))
	}
	if err := b.err.get(); err != nil {
		res.Error = err.Error()
		return res, err
	}
	if ctx.Err() != nil {
		res.Error = ctx.Err().Error()
		return res, ctx.Err()
	}
	return res, nil
}

// sender writes Depth broadcasts, then one more for each completed one
// (several per write when completions come in bursts), until the run stops
// and everything sent has completed.
func (b *bcastRun) sender(c *net.TCPConn, done chan<- struct{}) {
	defer close(done)
	t := b.tmpl
	wbuf := make([]byte, 0, b.cfg.Depth*len(t.send))
	var sent, completed uint64
	send := func(k int) bool {
		wbuf = wbuf[:0]
		for ; k > 0 && b.phase.Load() != phaseStop && (b.quota == 0 || sent < b.quota); k-- {
			wbuf = t.append(wbuf, sent, nanotime())
			sent++
		}
		if len(wbuf) == 0 {
			return true
		}
		if _, err := c.Write(wbuf); err != nil {
			if !b.closing.Load() {
				b.err.set(fmt.Errorf("bcast sender: %w", err))
			}
			return false
		}
		return true
	}
	if !send(b.cfg.Depth) {
		return
	}
	for completed < sent {
		select {
		case <-b.done:
			completed++
			k := 1
		drain:
			for {
				select {
				case <-b.done:
					completed++
					k++
				default:
					break drain
				}
			}
			if !send(k) {
				return
			}
		case <-b.abort:
			return
		}
	}
}

// receiver reads broadcasts on one connection: each must match the
// template, carry the next sequence number, and is timed from the timestamp
// it carries.
func (b *bcastRun) receiver(i int, c *net.TCPConn) {
	defer b.wg.Done()
	t := b.tmpl
	fl := len(t.frame)
	h := b.hs.get(i)
	rbuf := make([]byte, max(b.cfg.Depth*fl+fl, 4096))
	var next uint64
	defer func() { b.perReceiver[i] = next }()
	have := 0
	for {
		n, err := c.Read(rbuf[have:])
		if err != nil {
			if !b.closing.Load() {
				b.err.set(fmt.Errorf("receiver %d: %w (after %d broadcasts)", i, err, next))
			}
			return
		}
		now := nanotime()
		have += n
		measuring := b.phase.Load() == phaseMeasure
		p := 0
		for have-p >= fl {
			f := rbuf[p : p+fl]
			seq, ts, ok := t.check(f)
			if !ok || seq != next {
				b.mismatch.Add(1)
				b.err.set(fmt.Errorf("receiver %d: delivery %d is not the frame sent (seq %d): % x", i, next, seq, f[:min(fl, 48)]))
				return
			}
			next++
			p += fl
			if measuring {
				h.Record(uint64(now - ts))
			}
			slot := &b.pending[seq%uint64(len(b.pending))]
			if slot.Add(1) == b.n {
				slot.Store(0)
				if measuring {
					b.complete.Record(uint64(now - ts))
				}
				b.done <- struct{}{} // never blocks: at most Depth are pending
			}
		}
		if have-p >= 4 && !bytes.Equal(rbuf[p:p+4], t.frame[:4]) {
			b.mismatch.Add(1)
			b.err.set(fmt.Errorf("receiver %d: delivery %d has length prefix % x, want % x", i, next, rbuf[p:p+4], t.frame[:4]))
			return
		}
		have = copy(rbuf, rbuf[p:have])
	}
}

// senderReader counts whole frames arriving on the sender's connection,
// which must stay silent. (Over WebSocket it counts reads that return bytes.)
func (b *bcastRun) senderReader(c *net.TCPConn) {
	defer b.wg.Done()
	buf := make([]byte, 64<<10)
	have := 0
	for {
		n, err := c.Read(buf[have:])
		if err != nil {
			return
		}
		if b.cfg.WebSocket {
			b.senderRecv.Add(1)
			continue
		}
		have += n
		p := 0
		for have-p >= proto.LengthSize {
			size := proto.LengthSize + int(binary.BigEndian.Uint32(buf[p:]))
			if size > len(buf) {
				b.senderRecv.Add(1) // unexpected and too big to buffer: count it and stop reading
				return
			}
			if have-p < size {
				break
			}
			b.senderRecv.Add(1)
			p += size
		}
		have = copy(buf, buf[p:have])
	}
}
