package engine

import (
	"github.com/panjf2000/gnet/v2"

	"github.com/simpleserver-go/simpleserver/proto"
)

// loopState is the server's state for one gnet event loop.
type loopState struct {
	el gnet.EventLoop

	// conns are the loop's open clients (see clientSet).
	conns clientSet

	counters loopCounters // see stats.go

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
		l = &loopState{el: el, conns: clientSet{which: loopSlot}}
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
