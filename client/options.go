package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Defaults of the options, in one place.
const (
	// DefaultDialTimeout bounds Connect (see WithDialTimeout).
	DefaultDialTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds each frame written (see WithWriteTimeout).
	DefaultWriteTimeout = 10 * time.Second
	// DefaultCloseTimeout bounds the graceful part of Close (see WithCloseTimeout).
	DefaultCloseTimeout = 2 * time.Second
	// DefaultKeepAliveInterval is how long the server may stay silent before
	// the client PINGs it (see WithKeepAlive).
	DefaultKeepAliveInterval = 30 * time.Second
	// DefaultKeepAliveTimeout is how long the client waits for any byte
	// after such a PING before it gives the connection up (see WithKeepAlive).
	DefaultKeepAliveTimeout = 15 * time.Second
	// DefaultQueueSize is how many received messages wait for Read or
	// Receive before the client stops reading (see WithQueueSize).
	DefaultQueueSize = 4096
)

// initialReadBuffer is the reader's starting buffer; it grows to hold the
// largest frame seen and shrinks back once that frame has been handled.
const initialReadBuffer = 16 << 10

// Option configures a Client; pass options to New. An invalid value makes
// Connect return an error that says which option was wrong.
type Option func(*config)

// DialFunc dials a connection, like (*net.Dialer).DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

type config struct {
	dialTimeout  time.Duration
	writeTimeout time.Duration
	closeTimeout time.Duration
	kaInterval   time.Duration // 0: keep-alive off
	kaTimeout    time.Duration
	queueSize    int
	limits       proto.Limits
	dial         DialFunc
	reconnect    *Reconnect // nil: no reconnecting (WithReconnect)
	err          error      // the first invalid option, reported by Connect
}

func defaultConfig() config {
	return config{
		dialTimeout:  DefaultDialTimeout,
		writeTimeout: DefaultWriteTimeout,
		closeTimeout: DefaultCloseTimeout,
		kaInterval:   DefaultKeepAliveInterval,
		kaTimeout:    DefaultKeepAliveTimeout,
		queueSize:    DefaultQueueSize,
		limits:       proto.DefaultLimits(),
		dial:         (&net.Dialer{}).DialContext,
	}
}

func (c *config) invalid(format string, args ...any) {
	c.err = errors.Join(c.err, fmt.Errorf("client: "+format, args...))
}

// WithDialTimeout bounds how long Connect and ConnectContext wait for the
// connection to be established (default DefaultDialTimeout). A context
// passed to ConnectContext can only shorten it. d must be positive.
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithDialTimeout(%v): must be positive", d)
			return
		}
		c.dialTimeout = d
	}
}

// WithWriteTimeout bounds each frame write (default DefaultWriteTimeout).
// A write that times out may have sent part of a frame, which leaves the
// stream unusable: the connection is ended with an error wrapping
// ErrConnectionLost. 0 disables the timeout; a Send to a server that stops
// reading may then block until the connection ends.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.invalid("WithWriteTimeout(%v): must not be negative", d)
			return
		}
		c.writeTimeout = d
	}
}

// WithCloseTimeout bounds the graceful part of Close (default
// DefaultCloseTimeout): waiting for a Send in progress to finish, writing the
// CLOSE frame, and waiting for the server to close its side. When it
// expires, the socket is closed anyway. d must be positive.
func WithCloseTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithCloseTimeout(%v): must be positive", d)
			return
		}
		c.closeTimeout = d
	}
}

// WithKeepAlive sets the client's heartbeat, which finds a server that has
// gone away without closing the connection (a half-open connection). When
// nothing at all has been received for interval, the client sends a PING;
// when nothing at all arrives within timeout after that, the client sends
// CLOSE "keep-alive timeout", closes the connection, and Err reports an error
// wrapping ErrKeepAliveTimeout. Any received byte counts, not only the PONG.
//
// Keep-alive is on by default, with DefaultKeepAliveInterval and
// DefaultKeepAliveTimeout: a dead server is noticed within 45 s of
// silence. WithKeepAlive(0, 0) turns it off. It runs inside the reader
// goroutine, driven by the read deadline: no extra goroutine or timer.
// While the receive queue is full the client reads nothing and the
// heartbeat pauses with it.
func WithKeepAlive(interval, timeout time.Duration) Option {
	return func(c *config) {
		switch {
		case interval == 0:
			c.kaInterval, c.kaTimeout = 0, 0
		case interval < 0 || timeout <= 0:
			c.invalid("WithKeepAlive(%v, %v): want a positive interval and timeout, or 0 to turn it off", interval, timeout)
		default:
			c.kaInterval, c.kaTimeout = interval, timeout
		}
	}
}

// WithQueueSize sets how many received messages may wait for Read or
// Receive (default DefaultQueueSize). When the queue is full the client stops
// reading from the socket until there is room again, so TCP slows the server
// down; no message is ever dropped. n must be at least 1.
func WithQueueSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("WithQueueSize(%d): must be at least 1", n)
			return
		}
		c.queueSize = n
	}
}

// WithLimits sets what the client accepts from the server (default
// proto.DefaultLimits(); zero fields mean their default). A frame that breaks
// them is a protocol error: the client sends CLOSE with the reason and ends
// the connection. An oversized frame is rejected from its length prefix,
// before it is buffered.
func WithLimits(l proto.Limits) Option {
	return func(c *config) {
		if err := l.Validate(); err != nil {
			c.invalid("WithLimits: %w", err)
			return
		}
		c.limits = l.WithDefaults()
	}
}

// WithDialFunc replaces the dialer (default: a zero net.Dialer), for
// example to go through a proxy or to use tls.Dialer.DialContext. The
// network passed is always "tcp". dial must not be nil.
func WithDialFunc(dial DialFunc) Option {
	return func(c *config) {
		if dial == nil {
			c.invalid("WithDialFunc(nil)")
			return
		}
		c.dial = dial
	}
}
