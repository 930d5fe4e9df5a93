package engine

import (
	"sync"

	"github.com/valyala/bytebufferpool"

	"github.com/simpleserver-go/simpleserver/proto"
)

// The dispatch queue (default and manual modes).
//
// Every gnet callback that produces events (OnOpen, OnTraffic, OnClose, all
// on the connection's loop) fills one batch and pushes it whole: its events
// in order and, for its MESSAGEs, ONE pooled buffer holding all their
// payloads, which the decoded messages (kept inline in the events) point
// into. The dispatcher releases a batch whole, so the buffer needs no
// reference count, and a read of many frames costs one pool round trip
// instead of four per message. Batches and their event slots are recycled
// through the queue's free list, taken and returned under the mutex the
// queue takes anyway; a recycled message keeps its header storage, so the
// steady state allocates nothing.

type eventKind uint8

const (
	evOpen eventKind = iota
	evMessage
	evClose
)

type event struct {
	kind   eventKind
	c      *Client
	reason error
	m      proto.Message // evMessage: references its batch's buffer
}

// batch is what one loop callback hands the dispatcher.
type batch struct {
	evs    []event
	bb     *bytebufferpool.ByteBuffer // payloads of the MESSAGEs, nil if none
	c      *Client                    // the client of the MESSAGEs
	pend   int64                      // their share of c.pending
	charge int64                      // their share of Server.queued
}

// next returns a fresh event slot at the end of b, reusing the storage of a
// recycled one (its message keeps its header capacity).
func (b *batch) next() *event {
	if n := len(b.evs); n < cap(b.evs) {
		b.evs = b.evs[:n+1]
	} else {
		b.evs = append(b.evs, event{})
	}
	return &b.evs[len(b.evs)-1]
}

// drop removes the last event (a MESSAGE that failed to decode).
func (b *batch) drop() {
	b.evs[len(b.evs)-1].m.Reset()
	b.evs = b.evs[:len(b.evs)-1]
}

// Bounds on what the free list keeps: batches past maxKeptEvents slots are
// left to the GC, and the list holds at most maxFreeEvents slots in all.
const (
	maxKeptEvents = 4096
	maxFreeEvents = 16384
)

// eventQueue is a mutex-protected FIFO of batches, drained whole.
type eventQueue struct {
	mu         sync.Mutex
	items      []*batch
	events     int           // events in items
	free       []*batch      // recycled batches
	freeEvents int           // event slots in free
	wake       chan struct{} // 1-buffered: "the queue is not empty"
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1)}
}

// push queues b and returns an empty batch to fill next.
func (q *eventQueue) push(b *batch) *batch {
	q.mu.Lock()
	q.items = append(q.items, b)
	q.events += len(b.evs)
	fresh := q.popFree()
	q.mu.Unlock()
	q.signal()
	if fresh == nil {
		fresh = new(batch)
	}
	return fresh
}

// pushOne queues a single event, from any goroutine (session events).
func (q *eventQueue) pushOne(ev event) {
	q.mu.Lock()
	b := q.popFree()
	if b == nil {
		b = new(batch)
	}
	e := b.next()
	e.kind, e.c, e.reason = ev.kind, ev.c, ev.reason
	q.items = append(q.items, b)
	q.events++
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns what is queued, swapping in spare (emptied), and recycles
// done, the batches of the previous take, already reset.
func (q *eventQueue) take(spare, done []*batch) []*batch {
	q.mu.Lock()
	out := q.items
	q.items = spare[:0]
	q.events = 0
	for _, b := range done {
		if n := cap(b.evs); n <= maxKeptEvents && q.freeEvents+n <= maxFreeEvents {
			q.free = append(q.free, b)
			q.freeEvents += n
		}
	}
	q.mu.Unlock()
	return out
}

// popFree returns a recycled batch, or nil. q.mu must be held.
func (q *eventQueue) popFree() *batch {
	n := len(q.free)
	if n == 0 {
		return nil
	}
	b := q.free[n-1]
	q.free[n-1] = nil
	q.free = q.free[:n-1]
	q.freeEvents -= cap(b.evs)
	return b
}

// len returns the number of events queued.
func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.events
}

// reset empties b for reuse, returning its buffer to pool.
func (b *batch) reset(pool *bytebufferpool.Pool) {
	for i := range b.evs {
		ev := &b.evs[i]
		ev.c, ev.reason = nil, nil
		if ev.kind == evMessage {
			ev.m.Reset()
		}
	}
	b.evs = b.evs[:0]
	if b.bb != nil {
		pool.Put(b.bb)
		b.bb = nil
	}
	b.c, b.pend, b.charge = nil, 0, 0
}
