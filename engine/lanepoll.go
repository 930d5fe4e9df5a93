package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The lane poller is how the server learns that a behind client's socket
// has room again. gnet neither reports when its outbound buffer drains nor
// lets us wait for EPOLLOUT, so one goroutine per server, idle while no
// client has held frames, runs every Config.LanePollInterval while some
// do: it hands each loop one task that flushes that loop's held clients,
// and a loop flush releases held frames once gnet's buffer is empty
// (releaseLocked). A held frame thus waits at most about one interval
// after the socket drained (plus the loop's task latency); a send that
// makes a loop flush anyway (any reliable send to a behind client) checks
// sooner.

// lanePoller is the set of clients with held frames.
type lanePoller struct {
	mu      sync.Mutex
	clients []*Client // each one's lanes.pollSlot is its index
	start   sync.Once
	wake    chan struct{} // 1-buffered: "the set is not empty"

	// The poller goroutine's own.
	scratch []*Client
	batches map[*loopState]*pollBatch
}

// add puts c in the set and makes sure the poller runs. c.mu must be held.
func (p *lanePoller) add(s *Server, c *Client) {
	p.start.Do(func() {
		p.wake = make(chan struct{}, 1)
		p.batches = make(map[*loopState]*pollBatch)
		go s.runLanePoller()
	})
	p.mu.Lock()
	c.lanes.pollSlot = len(p.clients)
	p.clients = append(p.clients, c)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// remove takes c out of the set, if it is in. c.mu must be held.
func (p *lanePoller) remove(c *Client) {
	q := c.lanes
	if q == nil || q.pollSlot < 0 {
		return
	}
	p.mu.Lock()
	i, last := q.pollSlot, len(p.clients)-1
	moved := p.clients[last]
	p.clients[i] = moved
	moved.lanes.pollSlot = i
	p.clients[last] = nil
	p.clients = p.clients[:last]
	q.pollSlot = -1
	p.mu.Unlock()
}

// runLanePoller is the poller goroutine: it sleeps while the set is
// empty, and polls every LanePollInterval while it is not.
func (s *Server) runLanePoller() {
	p := &s.poll
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-p.wake:
		case <-s.done:
			return
		}
		for {
			t.Reset(s.cfg.LanePollInterval)
			select {
			case <-t.C:
			case <-s.done:
				return
			}
			if !s.pollLanes() {
				break
			}
		}
	}
}

// pollLanes hands every loop a task that flushes its held clients, and
// reports whether any client was held.
func (s *Server) pollLanes() bool {
	p := &s.poll
	p.mu.Lock()
	p.scratch = append(p.scratch[:0], p.clients...)
	p.mu.Unlock()
	if len(p.scratch) == 0 {
		return false
	}
	for _, c := range p.scratch {
		b := p.batches[c.loop]
		if b == nil {
			b = &pollBatch{}
			p.batches[c.loop] = b
		}
		if !b.busy.Load() { // else its last task has not run yet: next time
			b.clients = append(b.clients, c)
		}
	}
	clear(p.scratch)
	for l, b := range p.batches {
		if b.busy.Load() || len(b.clients) == 0 { // busy first: the loop may be reading clients
			continue
		}
		b.busy.Store(true)
		if err := l.el.Execute(context.Background(), b); err != nil {
			b.done() // shutting down: the loop closes its clients anyway
		}
	}
	return true
}

// pollBatch flushes a loop's held clients on that loop.
type pollBatch struct {
	busy    atomic.Bool // queued on the loop and not finished
	clients []*Client
}

// Run flushes the batch's clients on their loop.
func (b *pollBatch) Run(context.Context) error {
	for _, c := range b.clients {
		c.pollOnLoop()
	}
	b.done()
	return nil
}

func (b *pollBatch) done() {
	clear(b.clients)
	b.clients = b.clients[:0]
	b.busy.Store(false)
}

// pollOnLoop releases c's held frames if its socket has room; a client
// that has gone drops them. It runs on c's loop.
func (c *Client) pollOnLoop() {
	c.mu.Lock()
	if c.closed || c.closing {
		if c.lanes != nil {
			c.lanes.drop(&c.srv.laneStats)
			c.srv.poll.remove(c)
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.flushOnLoop()
}
