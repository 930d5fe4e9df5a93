package engine

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// wsRaw is a raw-TCP WebSocket client for engine tests: it writes frames
// byte for byte (masked or not, any bits) and reads the server's frames.
type wsRaw struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

// wsOpts is a WebSocket-enabled server's options for tests.
func wsOpts() []Option {
	return []Option{WithWebSocket(true), hzQuiet()}
}

// wsDial connects and upgrades on path; it fails the test unless the
// answer is 101 and returns the response.
func wsDial(t testing.TB, s *Server, path string, extra ...string) (*wsRaw, *http.Response) {
	t.Helper()
	c, resp := wsTryDial(t, s, path, extra...)
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade: status %d", resp.StatusCode)
	}
	return c, resp
}

func wsRequest(addr, path string, extra ...string) string {
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: " + b64(key[:]) + "\r\nSec-WebSocket-Version: 13\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	return req + "\r\n"
}

// wsTryDial sends an upgrade request and returns the response, whatever it is.
func wsTryDial(t testing.TB, s *Server, path string, extra ...string) (*wsRaw, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return wsUpgrade(t, conn, s.Addr().String(), path, extra...)
}

// wsUpgrade sends an upgrade request on conn and reads the response.
func wsUpgrade(t testing.TB, conn net.Conn, host, path string, extra ...string) (*wsRaw, *http.Response) {
	t.Helper()
	c := &wsRaw{t: t, Conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	c.write([]byte(wsRequest(host, path, extra...)))
	return c, c.response()
}

func (c *wsRaw) response() *http.Response {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return resp
}

func (c *wsRaw) write(b []byte) {
	c.t.Helper()
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// frame builds a client frame: masked unless noMask, with rsv bits.
func wsFrame(fin bool, op wsproto.Opcode, payload []byte, noMask bool, rsv byte) []byte {
	var key []byte
	if !noMask {
		key = []byte{0x37, 0xfa, 0x21, 0x3d}
	}
	b := wsproto.AppendHeader(nil, fin, op, len(payload), key)
	b[0] |= rsv << 4
	n := len(b)
	b = append(b, payload...)
	if key != nil {
		wsproto.Mask(b[n:], [4]byte(key), 0)
	}
	return b
}

func (c *wsRaw) send(fin bool, op wsproto.Opcode, payload []byte) {
	c.t.Helper()
	c.write(wsFrame(fin, op, payload, false, 0))
}

// sendMsg sends m as one binary message.
func (c *wsRaw) sendMsg(m *proto.Message) {
	c.t.Helper()
	p, err := proto.AppendPayload(nil, m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(true, wsproto.OpBinary, p)
}

// readFrame reads one server frame; server frames must not be masked.
func (c *wsRaw) readFrame() (wsproto.Header, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 0, wsproto.MaxHeaderSize)
	for {
		h, n, err := wsproto.ParseHeader(head)
		if err != nil {
			return h, nil, err
		}
		if n > 0 {
			if h.Masked {
				return h, nil, fmt.Errorf("server frame is masked")
			}
			p := make([]byte, h.Length)
			_, err := io.ReadFull(c.r, p)
			return h, p, err
		}
		b, err := c.r.ReadByte()
		if err != nil {
			return h, nil, err
		}
		head = append(head, b)
	}
}

// readMessage reads frames until a binary message holding a v1 MESSAGE.
func (c *wsRaw) readMessage() *proto.Message {
	c.t.Helper()
	for {
		h, p, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if h.Op == wsproto.OpClose {
			c.t.Fatalf("close frame % x while waiting for a message", p)
		}
		if h.Op != wsproto.OpBinary || len(p) == 0 || p[0] != byte(proto.KindMessage) {
			continue
		}
		m := proto.NewMessage()
		if err := m.Decode(p[1:], nil); err != nil {
			c.t.Fatalf("decode: %v", err)
		}
		return m
	}
}

// readClose reads frames until a close frame; it returns its code and
// reason, and checks that the server then closes the TCP connection.
func (c *wsRaw) readClose() (int, string) {
	c.t.Helper()
	for {
		h, p, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("read until close: %v", err)
		}
		if h.Op != wsproto.OpClose {
			continue
		}
		code, reason, err := wsproto.ParseClose(p)
		if err != nil {
			c.t.Fatalf("server close payload % x: %v", p, err)
		}
		c.expectEOF()
		return code, string(reason)
	}
}

// expectEOF checks the server closes the connection (reading to EOF).
func (c *wsRaw) expectEOF() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil && !isReset(err) {
		c.t.Fatalf("after close: %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
