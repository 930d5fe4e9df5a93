package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults of Reconnect; a zero field means its default.
const (
	DefaultReconnectMinDelay = 100 * time.Millisecond
	DefaultReconnectMaxDelay = 5 * time.Second
	DefaultReconnectQueue    = 1 << 20 // bytes of messages kept for (re)sending
)

// Reconnect is the policy of WithReconnect. Its zero value is a working
// policy: retry forever, from 100 ms up to 5 s apart, asking for a session.
type Reconnect struct {
	// MinDelay is the wait before the first retry (default 100 ms). Each
	// failed attempt doubles it, up to MaxDelay (default 5 s). Each wait is
	// drawn at random from [d/2, d] (jitter), so that thousands of clients
	// cut by one network failure do not all come back in the same instant.
	MinDelay time.Duration
	MaxDelay time.Duration
	// MaxAttempts is how many attempts in a row may fail before the client
	// gives up (StateGaveUp; Receive then reports the last error). 0 means
	// it never gives up.
	MaxAttempts int
	// QueueBytes bounds the messages the client keeps to (re)send: those
	// sent while offline and, in a session, those the server has not
	// confirmed yet (default 1 MiB). A Send that would pass it returns
	// ErrQueueFull and sends nothing.
	QueueBytes int
	// NoSession reconnects without asking for a session: every reconnect is
	// a new session for the server (StateNewSession), as with a server that
	// keeps none. Messages in flight when the connection broke may be lost.
	NoSession bool
	// OnState, if set, is called with every state change, in order, from
	// the client's reader goroutine: it must not block for long, and must
	// not call Close.
	OnState func(StateChange)
}

// State is where a reconnecting client stands; see Client.State.
type State int

// The states of a reconnecting client.
const (
	// StateConnected: the first connection is up (and its session, when
	// the server keeps sessions).
	StateConnected State = iota + 1
	// StateReconnecting: the connection was lost; the client is retrying.
	// Sends are queued meanwhile.
	StateReconnecting
	// StateResumed: reconnected, and the server resumed the session:
	// nothing was lost or doubled in either direction.
	StateResumed
	// StateNewSession: reconnected, but the server started a new session
	// (it keeps none, or the old one expired): the server's state for this
	// client is gone, and messages in flight at the cut may be lost. The
	// application should re-join what it had joined.
	StateNewSession
	// StateGaveUp: MaxAttempts attempts failed; the client is finished.
	StateGaveUp
	// StateClosed: Close was called.
	StateClosed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateResumed:
		return "resumed"
	case StateNewSession:
		return "new session"
	case StateGaveUp:
		return "gave up"
	case StateClosed:
		return "closed"
	}
	return "not connected"
}

// StateChange is one state change of a reconnecting client.
type StateChange struct {
	State State
	// Attempt counts the attempts since the connection was lost (1 for
	// the first retry); 0 for other states.
	Attempt int
	// Err is why the connection was lost (StateReconnecting), why the last
	// attempt failed (StateReconnecting with Attempt > 0, StateGaveUp).
	Err error
}

// ErrQueueFull is returned by Send when the messages kept for (re)sending
// would pass Reconnect.QueueBytes.
var ErrQueueFull = errors.New("client: reconnect queue full")

// WithReconnect makes the client reconnect by itself when the connection
// is lost (a network error or a keep-alive timeout; also a server that
// closes because it stops, is full, or timed the connection out), with
// exponential backoff and jitter. While it is offline, Send queues (up to
// p.QueueBytes) and Read and Receive simply wait: they report an error
// only once the client gives up or is closed.
//
// Unless p.NoSession is set, the client asks the server for a session
// (docs/PROTOCOL.md, "Sessions"). A server that keeps sessions
// (engine.Config.SessionGrace) resumes it after a reconnect: each side
// resends exactly what the other did not get, so every message arrives
// once and in order (StateResumed). Otherwise the client reports
// StateNewSession.
func WithReconnect(p Reconnect) Option {
	return func(c *config) {
		if p.MinDelay < 0 || p.MaxDelay < 0 || p.MaxAttempts < 0 || p.QueueBytes < 0 {
			c.invalid("WithReconnect: negative setting in %+v", p)
			return
		}
		if p.MinDelay == 0 {
			p.MinDelay = DefaultReconnectMinDelay
		}
		if p.MaxDelay == 0 {
			p.MaxDelay = max(DefaultReconnectMaxDelay, p.MinDelay)
		}
		if p.MaxDelay < p.MinDelay {
			c.invalid("WithReconnect: MaxDelay %v < MinDelay %v", p.MaxDelay, p.MinDelay)
			return
		}
		if p.QueueBytes == 0 {
			p.QueueBytes = DefaultReconnectQueue
		}
		c.reconnect = &p
	}
}

// backoff returns the wait before attempt n (1-based): MinDelay doubled
// per attempt, capped at MaxDelay, drawn from [d/2, d].
func (p *Reconnect) backoff(n int) time.Duration {
	d := p.MinDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// State returns the client's state. A client without WithReconnect reports
// StateConnected while connected and 0 before; use Err to see an ended
// connection.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return StateClosed
	}
	if c.rs != nil && c.rs.state != 0 {
		return c.rs.state
	}
	if c.state == stateConnected {
		return StateConnected
	}
	return 0
}

// setState records st and reports it to OnState. Only the goroutine that
// owns the connection (Connect, then the reader) calls it.
func (c *Client) setState(ch StateChange) {
	c.mu.Lock()
	c.rs.state = ch.State
	c.mu.Unlock()
	if f := c.cfg.reconnect.OnState; f != nil {
		f(ch)
	}
}

// retryableCloses are the server's CLOSE reasons that are worth a
// reconnect: it stops or is full (try later), or it timed the connection
// out, which a session survives (the server suspends it, as for a lost
// connection). Not: a kick, a protocol error, a slow consumer.
var retryableCloses = map[string]bool{
	"server shutting down":                   true,
	"server full":                            true,
	"too many connections from your address": true,
	"idle timeout":                           true,
	"frame timeout":                          true,
}

// retryable reports whether a connection that ended with cause is worth
// reconnecting.
func retryable(cause error) bool {
	var ce *CloseError
	if errors.As(cause, &ce) {
		return retryableCloses[ce.Reason] || isSessionEnd(ce.Reason)
	}
	return errors.Is(cause, ErrConnectionLost) || errors.Is(cause, ErrKeepAliveTimeout)
}

// reconnect redials after the connection ended with cause, with backoff,
// until it succeeds (it returns the reader for the new connection), Close
// is called or MaxAttempts fail (it returns nil and the final cause).
func (c *Client) reconnect(cause error) (*reader, error) {
	p := c.cfg.reconnect
	c.goOffline()
	c.setState(StateChange{State: StateReconnecting, Err: cause})
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(p.backoff(attempt))
		select {
		case <-c.stop:
			t.Stop()
			return nil, ErrClosed
		case <-t.C:
		}
		rd, resumed, err := c.dialAndGreet(context.Background())
		if err == nil {
			c.mu.Lock()
			closing := c.state == stateClosed
			if !closing {
				c.conn = rd.conn // what Close says goodbye on
			}
			c.mu.Unlock()
			if closing {
				rd.conn.Close()
				return nil, ErrClosed
			}
			st := StateNewSession
			if resumed {
				st = StateResumed
			}
			c.setState(StateChange{State: st})
			return rd, nil
		}
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		if p.MaxAttempts > 0 && attempt >= p.MaxAttempts {
			err = fmt.Errorf("client: gave up after %d attempts: %w", attempt, err)
			c.setState(StateChange{State: StateGaveUp, Attempt: attempt, Err: err})
			return nil, err
		}
		c.setState(StateChange{State: StateReconnecting, Attempt: attempt, Err: err})
	}
}
