package engine

import (
	"context"
	"fmt"
	"time"
)

// Stop shuts the server down gracefully (like net/http's Shutdown): it
// refuses new connections, sends every client CLOSE "server shutting down"
// after whatever was already queued to it, waits until each client's queue
// has been written out (gnet's own Stop would drop it) and closes it, fires
// OnDisconnect once per client with ErrServerShutdown, and returns when all
// of that is done. If ctx ends first, the remaining connections are closed
// at once and ctx's error is returned; the server then finishes stopping
// in the background. Start returns once the server has stopped. Stopping a
// stopped server waits for the first Stop to finish.
//
// Stop called from a listener cannot wait for the listeners (its caller is
// one of them): it returns when ctx ends, and the server finishes stopping
// once that listener has returned. Prefer go s.Stop(ctx) there.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state == stateRunning {
		// A Stop from another goroutine may come while StartAsync is still
		// setting up (the engine, the dispatcher's channels): let it finish.
		// It never waits for listeners, so this cannot deadlock.
		starting := s.startDone
		s.mu.Unlock()
		<-starting
		s.mu.Lock()
	}
	switch s.state {
	case stateNew:
		s.state = stateStopped
		s.mu.Unlock()
		close(s.done)
		return nil
	case stateStopping, stateStopped:
		s.mu.Unlock()
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.state = stateStopping
	s.mu.Unlock()
	s.draining.Store(true)
	s.wakeAllLoops() // a loop waiting for the dispatcher must serve Stop
	s.log.Debug("simpleserver: stopping", "clients", s.numConns.Load())

	for _, l := range s.allLoops() {
		for _, c := range l.conns.snapshot(nil) {
			c.beginShutdown()
		}
	}
	err := s.drain(ctx)

	// The rest waits for the event loops and the dispatcher, which a Stop
	// called from a listener holds up: it must not outlast ctx.
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		// Accepting stops first: once every socket accepted has been
		// through OnOpen (refused with CLOSE, as draining is set), no
		// hand-off can be queued behind the loops' shutdown task and left
		// connected to nothing.
		s.acc.stop()
		s.listenerShut.Store(true)
		cancelled, cancel := context.WithCancel(context.Background())
		cancel() // gnet's Stop polls every 500 ms; a cancelled ctx skips that
		_ = s.eng.Stop(cancelled)
		<-s.ranOut
		s.endSuspended(ErrServerShutdown) // their OnDisconnects, before the last dispatch
		s.finish()
	}()
	select {
	case <-finished:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// beginShutdown queues CLOSE "server shutting down" behind c's queued frames.
func (c *Client) beginShutdown() {
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.setReasonLocked(ErrServerShutdown)
	c.pend = c.tr.appendClose(c.pend, ErrServerShutdown, ErrServerShutdown.Error())
	if c.queued {
		c.mu.Unlock()
		return
	}
	c.queued = true
	c.mu.Unlock()
	c.srv.scheduleFlush(c)
}

// drainPoll is how often Stop checks whether queues have been written out.
const drainPoll = 2 * time.Millisecond

// drain closes each client once its queue is written out, and returns when
// none is left or ctx ends (closing the rest).
func (s *Server) drain(ctx context.Context) error {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for s.numConns.Load() > 0 {
		for _, l := range s.allLoops() {
			if err := l.el.Execute(context.Background(), drainTask{l}); err != nil {
				return err
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			for _, l := range s.allLoops() {
				for _, c := range l.conns.snapshot(nil) {
					_ = c.gc.Close()
				}
			}
			return ctx.Err()
		}
	}
	return nil
}

// drainTask runs on a loop during Stop: it flushes each client and closes
// those whose bytes have all been handed to the kernel.
type drainTask struct{ l *loopState }

// Run flushes the loop's clients and closes those that are drained.
func (t drainTask) Run(context.Context) error {
	for _, c := range t.l.conns.snapshot(nil) {
		c.beginShutdown() // a client admitted while Stop began missed it
		c.flushOnLoop()
		c.mu.Lock()
		done := !c.closed && len(c.pend) == 0 && c.gnetOut == 0
		c.mu.Unlock()
		if done {
			_ = c.gc.Close()
		}
	}
	return nil
}

// watchEngine finishes the server if gnet stops by itself.
func (s *Server) watchEngine() {
	<-s.ranOut
	s.mu.Lock()
	unexpected := s.state == stateRunning
	if unexpected {
		s.state = stateStopping
	}
	s.mu.Unlock()
	if unexpected {
		s.log.Error("simpleserver: engine stopped unexpectedly", "err", s.runErr)
		s.endErr = fmt.Errorf("simpleserver: engine stopped unexpectedly: %v", s.runErr)
		s.acc.stop()
		s.draining.Store(true)
		s.finish()
	}
}

// finish stops dispatching, dispatches the events still queued (the last
// OnDisconnects) and marks the server stopped.
func (s *Server) finish() {
	s.silent.stop()
	close(s.stopDispatch)
	<-s.dispatcherDone
	s.dispatchMu.Lock()
	for {
		if s.queue.len() == 0 {
			break
		}
		s.dispatchPending(false)
	}
	s.dispatchMu.Unlock()
	s.closeBroker()
	s.mu.Lock()
	s.state = stateStopped
	s.mu.Unlock()
	close(s.done)
}
