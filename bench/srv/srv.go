// Package srv holds what the comparison servers of the benchmark share: their
// configuration, the Server interface the benchserver command and the smoke
// test drive them through, the minimal frame inspection the hand-written
// servers use, and the recorder for tick (OnUpdate) intervals.
//
// Every server behaves identically on the wire (protocol v1): a MESSAGE is
// echoed back to its sender byte for byte, unless it carries a header named
// "bcast", in which case it goes, unchanged, to every OTHER connected client;
// a PING is answered with a PONG carrying the same bytes; a CLOSE, an
// unknown kind or a malformed frame closes the connection.
package srv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Config configures a comparison server. Fields a server does not use are
// ignored.
type Config struct {
	// Addr is the loopback host:port to listen on ("127.0.0.1:0" for any port).
	Addr string
	// Loops is the number of event loops (gnet-based servers; 0 means 1).
	Loops int
	// Inline runs SimpleServer's listeners on the gnet loops (simple only).
	Inline bool
	// PerFrame makes the raw gnet server write each echo reply with its own
	// c.Write (one write(2) per frame) instead of coalescing all echo
	// replies of one OnTraffic call into one write.
	PerFrame bool
	// TickHz, when > 0, runs the server's periodic update at this rate.
	TickHz int
	// Tick, when non-nil (and TickHz > 0), receives every update's start time.
	Tick *TickRecorder
	// MaxFrame is the largest payload accepted (0 means proto.DefaultMaxFrameSize).
	MaxFrame int
	// WebSocket also accepts WebSocket clients on /ws (simple only).
	WebSocket bool
}

// MaxFrameSize returns the effective payload limit of c.
func (c *Config) MaxFrameSize() int {
	if c.MaxFrame <= 0 {
		return proto.DefaultMaxFrameSize
	}
	return c.MaxFrame
}

// Server is a running comparison server.
type Server interface {
	// Addr returns the address the server actually listens on.
	Addr() net.Addr
	// Stop closes the listener and every connection and waits until the
	// server's goroutines are gone or ctx is done.
	Stop(ctx context.Context) error
}

// StartFunc starts a server with cfg and returns once it is listening.
type StartFunc func(cfg Config) (Server, error)

// CheckLoopback returns an error unless addr is a host:port whose host is a
// literal IP in 127.0.0.0/8 (or "localhost"): the benchmark never touches a
// real network.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not in 127.0.0.0/8: the benchmark only runs on loopback", addr)
	}
	return nil
}

// ErrMalformed reports a MESSAGE whose header section runs past its payload.
var ErrMalformed = errors.New("malformed message headers")

// HasBcastHeader reports whether the MESSAGE body rest (the payload after the
// kind byte) carries a header named "bcast". It parses only lengths and names,
// without allocating: it is all the header parsing the hand-written servers do.
func HasBcastHeader(rest []byte) (bool, error) {
	count, p, ok := uvarint(rest, 0)
	if !ok {
		return false, ErrMalformed
	}
	for ; count > 0; count-- {
		var nl, vl uint64
		if nl, p, ok = uvarint(rest, p); !ok || nl > uint64(len(rest)-p) {
			return false, ErrMalformed
		}
		name := rest[p : p+int(nl)]
		p += int(nl)
		if vl, p, ok = uvarint(rest, p); !ok || vl > uint64(len(rest)-p) {
			return false, ErrMalformed
		}
		p += int(vl)
		if string(name) == "bcast" {
			return true, nil
		}
	}
	return false, nil
}

func uvarint(b []byte, p int) (v uint64, next int, ok bool) {
	for shift := uint(0); shift < 64; shift += 7 {
		if p >= len(b) {
			return 0, p, false
		}
		c := b[p]
		p++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, p, true
		}
	}
	return 0, p, false
}
