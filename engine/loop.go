package engine

import (
	"slices"
	"sync/atomic"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
)

// loopState is the server's state for one gnet event loop.
type loopState struct {
	el gnet.EventLoop

	// conns are the loop's open clients (see clientSet).
	conns clientSet

	counters loopCounters // see stats.go

	// Backpressure (see backpressure.go).
	waitFor atomic.Pointer[Client] // the client the loop waits on, nil if none
	resumed atomic.Int64           // unix ns the loop last stopped waiting
	wake    chan struct{}          // 1-buffered: recheck why you wait

	// Loop-only.
	cur       *batch        // events of the current callback, pushed at its end (queue.go)
	hint      int           // bytes buffered when the current OnTraffic began
	msg       proto.Message // reused for inline dispatch
	scope     flushScope    // inline mode: sends made by this loop's listeners
	legacyMsg proto.Message // a legacy client's read, decoded (legacy.go)
	legacyBuf []byte        // and turned into a v1 payload
}

func (s *Server) loopFor(el gnet.EventLoop) *loopState {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	l := s.loops[el]
	if l == nil {
		l = &loopState{el: el, conns: clientSet{which: loopSlot}, wake: make(chan struct{}, 1), cur: new(batch)}
		s.loops[el] = l
		list := append(slices.Clip(s.loopList()), l) // a copy: readers keep theirs
		s.loopsList.Store(&list)
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

// loopList returns the loops that have had a connection, without locking;
// the slice is never modified.
func (s *Server) loopList() []*loopState {
	if p := s.loopsList.Load(); p != nil {
		return *p
	}
	return nil
}
