package client

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

type state uint8

const (
	stateNew        state = iota // never connected, or the last Connect failed
	stateConnecting              // a Connect is dialling
	stateConnected               // connected; the connection may have ended since
	stateClosed                  // Close was called
)

// Client is a connection to a SimpleServer: the seed's SimpleClient.
//
// A Client makes at most one connection. All methods are safe for
// concurrent use. Received messages wait in a bounded queue until Read or
// Receive takes them; PINGs from the server are answered automatically.
type Client struct {
	cfg config

	mu         sync.Mutex // guards the fields below
	state      state
	conn       net.Conn
	cancelDial context.CancelFunc
	err        error // why the connection ended; the first cause wins
	queueDone  bool  // the reader has closed msgs: nothing more will be queued

	closed atomic.Bool // Close was called (Read's lock-free check)

	msgs  chan *proto.Message // received messages, in order; closed by the reader
	ended chan struct{}       // closed with msgs: the connection delivers nothing more
	stop  chan struct{}       // closed by Close: the reader stops delivering
	done  chan struct{}       // closed once the reader goroutine has exited

	// wsem is the write lock: a one-slot semaphore, so that waiting for it
	// can be abandoned. Its holder owns wbuf and wclosed.
	wsem    chan struct{}
	wbuf    []byte
	wclosed bool // a CLOSE was written or a write failed: write nothing more

	pingMu  sync.Mutex // guards pings and pingSeq
	pings   map[uint64]chan<- time.Time
	pingSeq uint64

	rs *rstate // WithReconnect only: see session.go

	dlMu       sync.Mutex // serialises read-deadline changes between the reader and Close
	draining   bool       // the reader discards input until EOF or drainUntil
	drainUntil time.Time
}

// New returns a Client configured by opts. It does not connect to anything:
// call Connect when ready.
func New(opts ...Option) *Client {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	c := &Client{
		cfg:   cfg,
		msgs:  make(chan *proto.Message, cfg.queueSize),
		ended: make(chan struct{}),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		wsem:  make(chan struct{}, 1),
	}
	if cfg.reconnect != nil {
		c.rs = &rstate{}
	}
	return c
}

// Connect connects to the server at host:port, waiting at most the dial
// timeout (WithDialTimeout). It returns nil on success and otherwise an
// error that says why; a failed Connect may be retried. Connecting a Client
// that is connected (or was) returns ErrAlreadyConnected, and one that was
// closed ErrClosed.
func (c *Client) Connect(host string, port int) error {
	return c.ConnectContext(context.Background(), host, port)
}

// ConnectContext is Connect bounded by ctx as well as by the dial timeout.
// Close cancels a ConnectContext in progress, which then returns ErrClosed.
func (c *Client) ConnectContext(ctx context.Context, host string, port int) error {
	if c.cfg.err != nil {
		return c.cfg.err
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("client: connect: invalid port %d", port)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))

	c.mu.Lock()
	switch c.state {
	case stateClosed:
		c.mu.Unlock()
		return ErrClosed
	case stateConnecting, stateConnected:
		c.mu.Unlock()
		return ErrAlreadyConnected
	}
	c.state = stateConnecting
	dctx, cancel := context.WithTimeout(ctx, c.cfg.dialTimeout)
	c.cancelDial = cancel
	c.mu.Unlock()

	var rd *reader
	var conn net.Conn
	var err error
	if c.rs != nil {
		c.rs.addr = addr
		if rd, _, err = c.dialAndGreet(dctx); rd != nil {
			conn = rd.conn
		}
	} else if conn, err = c.cfg.dial(dctx, "tcp", addr); err == nil {
		rd = newReader(c, conn)
	} else {
		err = fmt.Errorf("client: connect to %s: %w", addr, err)
	}
	cancel()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelDial = nil
	if c.state == stateClosed { // Close ran while we dialled
		if conn != nil {
			conn.Close()
		}
		return ErrClosed
	}
	if err == nil && c.rs == nil { // a reconnecting client greets in greet
		if err = sayHello(conn, c.cfg.writeTimeout); err != nil {
			conn.Close()
			err = fmt.Errorf("client: connect to %s: %w", addr, err)
		}
	}
	if err != nil {
		c.state = stateNew
		return err
	}
	c.state = stateConnected
	c.conn = conn
	if c.rs != nil {
		c.rs.state = StateConnected
	}
	go c.readLoop(rd)
	return nil
}

// Send sends m to the server as one MESSAGE frame. It is safe to call from
// several goroutines at once: every frame is written whole, in one write,
// never interleaved with another. It returns once the frame is handed to
// the operating system. m is not retained.
//
// Send returns ErrNotConnected before Connect, ErrClosed after Close, and
// after the connection ended the reason it ended (see Err), for example a
// *CloseError. An error encoding m (such as an invalid header name) leaves
// the connection usable.
func (c *Client) Send(m *proto.Message) error {
	if m == nil {
		return ErrNilMessage
	}
	if c.rs != nil {
		return c.rsSend(func(b []byte) ([]byte, error) { return proto.AppendFrame(b, m) })
	}
	conn, err := c.lockWriter()
	if err != nil {
		return err
	}
	defer c.unlockWriter()
	if c.wbuf, err = proto.AppendFrame(c.wbuf[:0], m); err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	return c.flushLocked(conn, c.cfg.writeTimeout)
}

// SendRaw sends b as the body of a message without headers: the server
// decodes it as a headerless NetworkMessage. It behaves like Send.
func (c *Client) SendRaw(b []byte) error {
	if c.rs != nil {
		return c.rsSend(func(q []byte) ([]byte, error) { return proto.AppendRawFrame(q, b) })
	}
	conn, err := c.lockWriter()
	if err != nil {
		return err
	}
	defer c.unlockWriter()
	if c.wbuf, err = proto.AppendRawFrame(c.wbuf[:0], b); err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	return c.flushLocked(conn, c.cfg.writeTimeout)
}

// Read returns the next received message, or nil when none is waiting. It
// never blocks: the seed's read() returning None. The message belongs to the
// caller, who may keep and modify it.
//
// Read returns nil before Connect, after Close, and once the connection has
// ended and every message received before the end has been read; Err then
// says why the connection ended.
func (c *Client) Read() *proto.Message {
	if c.closed.Load() {
		return nil
	}
	select {
	case m, ok := <-c.msgs:
		if ok {
			return m
		}
	default:
	}
	return nil
}

// Receive waits for the next received message and returns it; the message
// belongs to the caller. Messages are returned in the order the server sent
// them. It returns ctx.Err() when ctx ends first.
//
// Once the connection has ended and every message received before the end
// has been returned, Receive returns the reason it ended: a *CloseError
// (errors.Is ErrServerClosed) carrying the server's reason when the server
// sent CLOSE, ErrClosed after Close, or another error from Err. Before
// Connect it returns ErrNotConnected.
func (c *Client) Receive(ctx context.Context) (*proto.Message, error) {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch st {
	case stateNew, stateConnecting:
		return nil, ErrNotConnected
	case stateClosed:
		return nil, ErrClosed
	}
	// A message already waiting wins over a done ctx.
	select {
	case m, ok := <-c.msgs:
		return c.received(m, ok)
	default:
	}
	select {
	case m, ok := <-c.msgs:
		return c.received(m, ok)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) received(m *proto.Message, ok bool) (*proto.Message, error) {
	if ok {
		return m, nil
	}
	return nil, c.endErr()
}

// Err reports why the connection ended. It returns nil before Connect and
// while the connection is healthy. After Close it returns ErrClosed (or the
// reason the connection had already ended). Otherwise it returns the reason
// only once every message received before the end has been read, so a loop
// that polls Read and stops when Read returns nil and Err does not loses
// nothing. The reasons:
//
//   - *CloseError (errors.Is ErrServerClosed): the server sent CLOSE.
//   - an error wrapping *proto.ProtocolError: the server sent bytes that
//     break the protocol; the client sent CLOSE with that reason.
//   - an error wrapping ErrConnectionLost: EOF, reset or a failed write.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return c.err
	}
	if !c.queueDone || len(c.msgs) > 0 {
		return nil
	}
	return c.err
}

// Close is CloseWithReason("client closed").
func (c *Client) Close() error { return c.CloseWithReason("client closed") }

// CloseWithReason ends the connection gracefully: it sends CLOSE with the
// reason (cut to proto.MaxCloseReason bytes), shuts down its sending side,
// discards what the server still sends until the server closes (at most the
// close timeout, WithCloseTimeout), closes the socket, and returns once the
// client's goroutine has exited. Messages not yet read are discarded.
//
// Close may be called at any time and more than once; later calls only
// wait for the first to finish. It also cancels a Connect in progress. It
// returns nil: there is nothing a caller could do about a failure to say
// goodbye.
func (c *Client) CloseWithReason(reason string) error {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	prev := c.state
	c.state = stateClosed
	c.closed.Store(true)
	if c.err == nil {
		c.err = ErrClosed
	}
	if c.cancelDial != nil {
		c.cancelDial()
	}
	conn := c.conn
	if prev != stateConnected {
		// No reader ever ran: end the channels it would have ended. A
		// Connect still dialling sees stateClosed and starts nothing.
		c.queueDone = true
		close(c.msgs)
		close(c.ended)
		close(c.done)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()

	c.shutdown(conn, reason)
	<-c.done
	for range c.msgs { // discard what was never read
	}
	return nil
}

// shutdown says goodbye on conn and makes the reader finish.
func (c *Client) shutdown(conn net.Conn, reason string) {
	select {
	case <-c.done: // the reader is gone; so is the connection
		return
	default:
	}
	sent := false
	t := time.NewTimer(c.cfg.closeTimeout)
	defer t.Stop()
	if c.acquireWriter(c.ended, t.C) {
		sent = c.writeCloseLocked(conn, reason)
		c.unlockWriter()
	}
	until := time.Now()
	if sent {
		until = until.Add(c.cfg.closeTimeout)
	}
	c.startDrain(conn, until)
	close(c.stop)
	if !sent {
		// A writer may be stuck, or the connection is already broken:
		// closing the socket releases everyone.
		conn.Close()
	}
}

// startDrain makes the reader stop delivering and discard its input until
// EOF or until.
func (c *Client) startDrain(conn net.Conn, until time.Time) {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.draining && !until.Before(c.drainUntil) {
		return
	}
	c.draining = true
	c.drainUntil = until
	conn.SetReadDeadline(until)
}

// finish records why the connection ended (unless a cause is already
// recorded) and tells everyone waiting for messages that none will come.
// Only the reader calls it, once, after its last enqueue.
func (c *Client) finish(cause error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = cause
	}
	c.queueDone = true
	c.mu.Unlock()
	close(c.msgs)
	close(c.ended)
}

// fail records cause (unless one is already recorded) and closes conn, which
// ends the reader.
func (c *Client) fail(conn net.Conn, cause error) {
	if c.rs != nil {
		conn.Close() // the reader reconnects, or records why it cannot
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = cause
	}
	c.mu.Unlock()
	conn.Close()
}

// connErrLocked returns the error for using the connection now: nil while
// it is healthy. c.mu must be held.
func (c *Client) connErrLocked() error {
	switch c.state {
	case stateNew, stateConnecting:
		return ErrNotConnected
	case stateClosed:
		return ErrClosed
	}
	return c.err
}

// endErr returns the error for a connection that is known to have ended.
func (c *Client) endErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connErrLocked(); err != nil {
		return err
	}
	return ErrConnectionLost // not reached: an ended connection has a cause
}
