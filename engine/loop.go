package engine

import (
	"sync"

	"github.com/panjf2000/gnet/v2"

	"github.com/simpleserver-go/simpleserver/proto"
)

// loopState is the server's state for one gnet event loop.
type loopState struct {
	el gnet.EventLoop

	// conns are the loop's open clients, for the housekeeping sweep and
	// Stop. Changed on the loop in OnOpen/OnClose; read under mu elsewhere.
	mu    sync.Mutex
	conns []*Client

	// Loop-only.
	staged []event       // events decoded by the current OnTraffic
	msg    proto.Message // reused for inline dispatch
	scope  flushScope    // inline mode: sends made by this loop's listeners
}

func (s *Server) loopFor(el gnet.EventLoop) *loopState {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	l := s.loops[el]
	if l == nil {
		l = &loopState{el: el}
		s.loops[el] = l
	}
	return l
}

// allLoops returns the loops that have had a connection.
func (s *Server) allLoops() []*loopState {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	out := make([]*loopState, 0, len(s.loops))
	for _, l := range s.loops {
		out = append(out, l)
	}
	return out
}

func (l *loopState) add(c *Client) {
	l.mu.Lock()
	c.loopSlot = len(l.conns)
	l.conns = append(l.conns, c)
	l.mu.Unlock()
}

func (l *loopState) remove(c *Client) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := c.loopSlot
	if i < 0 || i >= len(l.conns) || l.conns[i] != c {
		return
	}
	last := len(l.conns) - 1
	l.conns[i] = l.conns[last]
	l.conns[i].loopSlot = i
	l.conns[last] = nil
	l.conns = l.conns[:last]
	c.loopSlot = -1
}

// snapshot returns a copy of the loop's clients.
func (l *loopState) snapshot(dst []*Client) []*Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(dst, l.conns...)
}
