package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/proto"
)

// Source addresses are spread over 127.0.0.2..127.0.0.200 so that tens of
// thousands of connections to one server port never exhaust the ephemeral
// ports of a single source address.
const (
	firstSource = 2
	numSources  = 199
)

// sourceAddr returns the local address for the i'th connection.
func sourceAddr(i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(firstSource+i%numSources))}
}

// dialAll opens n connections to cfg.Addr with up to par dials in flight,
// upgrading each to WebSocket when cfg.WebSocket is set and answering a
// PING on each when ping is set (so that the server has accepted and
// registered every connection when dialAll returns). It stops at the first
// error, closing what it opened.
func dialAll(ctx context.Context, cfg *Config, n, par int, ping bool) ([]*net.TCPConn, error) {
	addr := cfg.Addr
	wsPath := cfg.WebSocketPath
	if wsPath == "" {
		wsPath = DefaultWebSocketPath
	}
	if err := srv.CheckLoopback(addr); err != nil {
		return nil, err
	}
	conns := make([]*net.TCPConn, n)
	var (
		next    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		errOnce.Do(func() { first = err; cancel() })
	}
	for range min(par, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pingBuf := make([]byte, 0, 32)
			pongBuf := make([]byte, 32)
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				d := net.Dialer{LocalAddr: sourceAddr(i), Timeout: 10 * time.Second}
				c, err := d.DialContext(ctx, "tcp4", addr)
				if err != nil {
					fail(fmt.Errorf("dial %d of %d: %w", i+1, n, err))
					return
				}
				tc := c.(*net.TCPConn)
				conns[i] = tc
				if cfg.WebSocket {
					if err := wsHandshake(tc, addr, wsPath); err != nil {
						fail(fmt.Errorf("connection %d of %d: %w", i+1, n, err))
						return
					}
				}
				if ping && cfg.WebSocket {
					payload := []byte{byte(proto.KindPing), byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
					if err := wsPingPong(tc, payload, benchMaskKey); err != nil {
						fail(fmt.Errorf("ping on connection %d: %w", i+1, err))
						return
					}
				} else if ping {
					pingBuf = proto.AppendPing(pingBuf[:0], []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
					if err := pingPong(tc, pingBuf, pongBuf); err != nil {
						fail(fmt.Errorf("ping on connection %d: %w", i+1, err))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		closeAll(conns)
		return nil, first
	}
	return conns, nil
}

// pingPong writes ping and waits for the matching PONG.
func pingPong(c *net.TCPConn, ping, buf []byte) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(ping); err != nil {
		return err
	}
	buf = buf[:len(ping)]
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	want := append([]byte(nil), ping...)
	want[proto.LengthSize] = byte(proto.KindPong)
	if !bytes.Equal(buf, want) {
		return fmt.Errorf("got %x, want PONG %x", buf, want)
	}
	return nil
}

func closeAll(conns []*net.TCPConn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
