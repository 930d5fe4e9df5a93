// Package stdnet is the server a Go programmer writes without a framework:
// the standard library's net package, one goroutine per connection reading
// through a bufio.Reader and writing through a bufio.Writer, and a
// mutex-protected set of clients for broadcast. Echo replies are flushed
// only when no further complete frame is already buffered; a broadcast is
// written and flushed to each other client in turn.
package stdnet

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/proto"
)

// Server is a running goroutine-per-connection server.
type Server struct {
	cfg      srv.Config
	maxFrame int
	ln       net.Listener

	mu      sync.RWMutex
	clients map[*client]struct{}
	closed  bool

	wg       sync.WaitGroup
	tickStop chan struct{}
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
	big  []byte // frames larger than r's buffer are read here

	wmu sync.Mutex // guards w: the connection's goroutine and broadcasters write
	w   *bufio.Writer
}

// Start starts the server and returns once it listens.
func Start(cfg srv.Config) (srv.Server, error) {
	if err := srv.CheckLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp4", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, maxFrame: cfg.MaxFrameSize(), ln: ln, clients: make(map[*client]struct{}), tickStop: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	if cfg.TickHz > 0 {
		s.wg.Add(1)
		go s.tick()
	}
	return s, nil
}

// Addr returns the bound listen address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stop closes the listener and all connections and waits for their goroutines.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.ln.Close()
		close(s.tickStop)
		for c := range s.clients {
			c.conn.Close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: back off, try again
			continue
		}
		c := &client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.clients[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *Server) serve(c *client) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
		c.conn.Close()
	}()
	for {
		hdr, err := c.r.Peek(proto.LengthSize)
		if err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr))
		if n == 0 || n > s.maxFrame {
			return
		}
		size := proto.LengthSize + n
		var f []byte
		peeked := size <= c.r.Size()
		if peeked {
			if f, err = c.r.Peek(size); err != nil {
				return
			}
		} else {
			if cap(c.big) < size {
				c.big = make([]byte, size)
			}
			f = c.big[:size]
			if _, err = io.ReadFull(c.r, f); err != nil {
				return
			}
		}
		if !s.handle(c, f, peeked) {
			return
		}
	}
}

// handle processes frame f and reports whether the connection stays open.
// When peeked, f still sits in c.r and is discarded here.
func (s *Server) handle(c *client, f []byte, peeked bool) bool {
	n := len(f)
	reply := false
	switch proto.Kind(f[proto.LengthSize]) {
	case proto.KindMessage:
		b, err := srv.HasBcastHeader(f[proto.LengthSize+1:])
		if err != nil {
			return false
		}
		if b {
			s.broadcast(c, f)
		} else {
			reply = true
		}
	case proto.KindPing:
		if n-proto.LengthSize-1 > proto.MaxPingPayload {
			return false
		}
		f[proto.LengthSize] = byte(proto.KindPong)
		reply = true
	case proto.KindPong:
	default:
		return false
	}
	if reply {
		c.wmu.Lock()
		_, err := c.w.Write(f)
		if peeked {
			c.r.Discard(n)
		}
		if err == nil && !c.frameBuffered() {
			err = c.w.Flush()
		}
		c.wmu.Unlock()
		return err == nil
	}
	if peeked {
		c.r.Discard(n)
	}
	return true
}

// frameBuffered reports whether another complete frame is already in c.r, in
// which case its reply can share this one's write.
func (c *client) frameBuffered() bool {
	b := c.r.Buffered()
	if b < proto.LengthSize {
		return false
	}
	hdr, _ := c.r.Peek(proto.LengthSize)
	return b >= proto.LengthSize+int(binary.BigEndian.Uint32(hdr))
}

// broadcast writes and flushes f to every client but from.
func (s *Server) broadcast(from *client, f []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.clients {
		if c == from {
			continue
		}
		c.wmu.Lock()
		if _, err := c.w.Write(f); err == nil {
			if err = c.w.Flush(); err != nil {
				c.conn.Close()
			}
		}
		c.wmu.Unlock()
	}
}

func (s *Server) tick() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second / time.Duration(s.cfg.TickHz))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if s.cfg.Tick != nil {
				s.cfg.Tick.Tick(time.Now()) // when the update runs, not when the timer fired
			}
		case <-s.tickStop:
			return
		}
	}
}
