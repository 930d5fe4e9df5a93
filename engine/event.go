package engine

import (
	"sync"
	"sync/atomic"
)

// ListenerID identifies a listener added to an Event, for RemoveListener.
type ListenerID uint64

type listener[F any] struct {
	id ListenerID
	fn F
}

// Event is a list of listeners of one kind, called in the order they were
// added (the seed's on_connection, on_message...). AddListener and
// RemoveListener may be called from any goroutine, including from inside a
// listener; the change applies from the next event on.
type Event[F any] struct {
	mu   sync.Mutex
	next ListenerID
	list atomic.Pointer[[]listener[F]]
}

// AddListener appends fn and returns an ID that removes it again.
func (e *Event[F]) AddListener(fn F) ListenerID {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	old := e.snapshot()
	l := make([]listener[F], len(old), len(old)+1)
	copy(l, old)
	l = append(l, listener[F]{e.next, fn})
	e.list.Store(&l)
	return e.next
}

// RemoveListener removes the listener with the given ID and reports whether
// it was there.
func (e *Event[F]) RemoveListener(id ListenerID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.snapshot()
	for i, l := range old {
		if l.id == id {
			n := make([]listener[F], 0, len(old)-1)
			n = append(append(n, old[:i]...), old[i+1:]...)
			e.list.Store(&n)
			return true
		}
	}
	return false
}

// Len returns the number of listeners.
func (e *Event[F]) Len() int { return len(e.snapshot()) }

// snapshot returns the current listeners; the slice is never modified.
func (e *Event[F]) snapshot() []listener[F] {
	if p := e.list.Load(); p != nil {
		return *p
	}
	return nil
}
