package engine

import (
	"context"
	"sync"
)

// flushScope defers flushes while listeners run, so that everything a batch
// of events sends to one client leaves in one write. While active, clients
// that need a flush are collected; end returns them for flushing.
type flushScope struct {
	mu     sync.Mutex
	active bool
	dirty  []*Client
}

func (sc *flushScope) begin() {
	sc.mu.Lock()
	sc.active = true
	sc.mu.Unlock()
}

// add collects c and reports true, or reports false when the scope is not
// active (the caller then flushes c itself).
func (sc *flushScope) add(c *Client) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.active {
		return false
	}
	sc.dirty = append(sc.dirty, c)
	return true
}

// addAll is add for many clients at once.
func (sc *flushScope) addAll(cs []*Client) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.active {
		return false
	}
	sc.dirty = append(sc.dirty, cs...)
	return true
}

// end deactivates the scope and returns the collected clients; pass the
// slice back to recycle once flushed.
func (sc *flushScope) end() []*Client {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.active = false
	d := sc.dirty
	sc.dirty = nil
	return d
}

// recycle returns a flushed list's storage to the scope.
func (sc *flushScope) recycle(d []*Client) {
	clear(d)
	sc.mu.Lock()
	if sc.dirty == nil {
		sc.dirty = d[:0]
	}
	sc.mu.Unlock()
}

// scheduleFlush makes sure c, which has just become dirty, gets flushed: by
// the scope its listeners run in if that is active, otherwise right now.
func (s *Server) scheduleFlush(c *Client) {
	if !s.scopeFor(c).add(c) {
		c.flushDirect()
	}
}

func (s *Server) scopeFor(c *Client) *flushScope {
	if s.cfg.Inline {
		return &c.loop.scope
	}
	return &s.logic
}

// deferToLoops hands each run of same-loop clients in list to its loop's
// scope when that loop is inside OnTraffic (inline mode: it flushes them
// when its listeners return, so several broadcasts leave in one write per
// client), and flushes the others now.
func (s *Server) deferToLoops(list []*Client) {
	for start := 0; start < len(list); {
		l := list[start].loop
		end := start + 1
		for end < len(list) && list[end].loop == l {
			end++
		}
		if run := list[start:end]; !l.scope.addAll(run) {
			s.flushList(run)
		}
		start = end
	}
}

// loopFanout is the dirty-list size from which a flush is split into one
// task per event loop, so that loops write in parallel.
const loopFanout = 64

// flushList flushes every client in list.
func (s *Server) flushList(list []*Client) {
	if len(list) < loopFanout || s.cfg.EventLoops == 1 {
		for _, c := range list {
			c.flushDirect()
		}
		return
	}
	byLoop := make(map[*loopState]*loopBatch, s.cfg.EventLoops)
	for _, c := range list {
		b := byLoop[c.loop]
		if b == nil {
			b = &loopBatch{}
			byLoop[c.loop] = b
		}
		b.clients = append(b.clients, c)
	}
	for l, b := range byLoop {
		if err := l.el.Execute(context.Background(), b); err != nil {
			for _, c := range b.clients {
				c.flushDirect()
			}
		}
	}
}

// loopBatch flushes a group of one loop's clients on that loop.
type loopBatch struct{ clients []*Client }

// Run flushes the batch's clients on their loop.
func (b *loopBatch) Run(context.Context) error {
	for _, c := range b.clients {
		c.flushOnLoop()
	}
	return nil
}
