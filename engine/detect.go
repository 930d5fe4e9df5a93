package engine

import (
	"context"
	"sync"
	"time"
)

// Connections that have sent nothing yet. With WebSocket or HTTP pages on,
// a connection becomes a client when its first bytes show what it speaks
// (transport.go). With Config.DetectTimeout set, one that stays silent
// that long, such as a protocol v1 client that waits for the server to
// speak, is then taken for v1. One timer per server watches them all,
// armed only while some wait; the list holds only connections younger
// than DetectTimeout.
type silentConns struct {
	mu      sync.Mutex
	waiting []*Client
	timer   *time.Timer
	armed   bool
}

// awaitFirstBytes starts watching c, just opened.
func (s *Server) awaitFirstBytes(c *Client) {
	if s.cfg.DetectTimeout <= 0 {
		return // it waits for its first byte, or the idle timeout
	}
	d := &s.silent
	d.mu.Lock()
	d.waiting = append(d.waiting, c)
	if !d.armed {
		d.armed = true
		if d.timer == nil {
			d.timer = time.AfterFunc(s.cfg.DetectTimeout, s.detectSilent)
		} else {
			d.timer.Reset(s.cfg.DetectTimeout)
		}
	}
	d.mu.Unlock()
}

// detectSilent hands each connection silent for DetectTimeout to its loop
// to become a v1 client, forgets those that spoke or closed, and re-arms
// for the next deadline.
func (s *Server) detectSilent() {
	d := &s.silent
	timeout := int64(s.cfg.DetectTimeout)
	now := time.Now().UnixNano()
	var due []*Client
	d.mu.Lock()
	keep := d.waiting[:0]
	next := int64(-1)
	for _, c := range d.waiting {
		c.mu.Lock()
		silent := !c.closed && !c.closing && c.tr == (undetermined{})
		c.mu.Unlock()
		opened := c.lastRecv.Load() // the open time while nothing came
		switch {
		case !silent:
		case now-opened >= timeout:
			due = append(due, c)
		default:
			keep = append(keep, c)
			if wait := opened + timeout - now; next < 0 || wait < next {
				next = wait
			}
		}
	}
	clear(d.waiting[len(keep):])
	d.waiting = keep
	d.armed = next >= 0
	if d.armed {
		d.timer.Reset(time.Duration(next))
	}
	d.mu.Unlock()
	for _, c := range due {
		_ = c.gc.EventLoop().Execute(context.Background(), (*silentTask)(c))
	}
}

// silentTask makes a silent connection a protocol v1 client, on its loop.
type silentTask Client

// Run gives the client the v1 transport and announces it, unless its first
// bytes came meanwhile.
func (t *silentTask) Run(context.Context) error {
	c := (*Client)(t)
	c.mu.Lock()
	silent := !c.closed && !c.closing && c.tr == (undetermined{})
	if silent {
		c.tr = v1
	}
	c.mu.Unlock()
	if silent {
		c.srv.announce(c, false)
	}
	return nil
}

// stop disarms the timer for good (the server has stopped).
func (d *silentConns) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.armed, d.waiting = true, nil // armed: never Reset again
	d.mu.Unlock()
}
