package loadgen

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The client side of WebSocket (RFC 6455) for the load generator, as
// docs/PROTOCOL.md's "Protocol v1 over WebSocket" maps it: one binary
// message carries one protocol v1 payload, without the 4-byte length.
// Client frames must be masked; server frames never are.

// DefaultWebSocketPath is the upgrade path the load generator asks for when
// Config.WebSocketPath is empty: the engine's default.
const DefaultWebSocketPath = "/ws"

// wsSubprotocol is protocol v1's WebSocket subprotocol.
const wsSubprotocol = "simpleserver.v1"

const (
	wsFinBinary = 0x80 | 0x2 // FIN + opcode binary
	wsMaskBit   = 0x80
	wsGUID      = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// wsHeaderLen is the length of a frame header for a payload of n bytes,
// without the 4-byte masking key.
func wsHeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	}
	return 10
}

// appendWSHeader appends a FIN binary frame header for an n-byte payload,
// with the mask bit and key when key is non-nil.
func appendWSHeader(dst []byte, n int, key []byte) []byte {
	var m byte
	if key != nil {
		m = wsMaskBit
	}
	switch {
	case n < 126:
		dst = append(dst, wsFinBinary, m|byte(n))
	case n <= 0xffff:
		dst = append(dst, wsFinBinary, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, wsFinBinary, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if key != nil {
		dst = append(dst, key...)
	}
	return dst
}

// wsServerFrame appends payload framed as the server sends it: unmasked.
func wsServerFrame(dst, payload []byte) []byte {
	return append(appendWSHeader(dst, len(payload), nil), payload...)
}

// wsClientFrame appends payload framed as a client must send it: masked
// with key.
func wsClientFrame(dst, payload []byte, key [4]byte) []byte {
	dst = appendWSHeader(dst, len(payload), key[:])
	n := len(dst)
	dst = append(dst, payload...)
	wsMask(dst[n:], key, 0)
	return dst
}

// wsMask XORs b with key, b starting at offset off of the payload.
func wsMask(b []byte, key [4]byte, off int) {
	for i := range b {
		b[i] ^= key[(off+i)&3]
	}
}

// wsHandshake upgrades c to a WebSocket on path, offering protocol v1's
// subprotocol, and checks the server's 101 answer. The server sends nothing
// of its own after the answer until the client speaks, so bytes after it
// are an error rather than frames to keep.
func wsHandshake(c net.Conn, host, path string) error {
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + wsSubprotocol + "\r\n\r\n"
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 1024)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return fmt.Errorf("websocket handshake: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("websocket handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" && p != wsSubprotocol {
		return fmt.Errorf("websocket handshake: subprotocol %q", p)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return errors.New("websocket handshake: no Upgrade: websocket")
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("websocket handshake: %d unexpected bytes after the answer", br.Buffered())
	}
	return nil
}

// wsPingPong sends the protocol v1 PING payload ping (kind byte + data) in
// a masked binary message and waits for the PONG that answers it.
func wsPingPong(c net.Conn, ping []byte, key [4]byte) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(wsClientFrame(nil, ping, key)); err != nil {
		return err
	}
	pong := append([]byte(nil), ping...)
	pong[0] = 0x02 // PONG
	want := wsServerFrame(nil, pong)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("got % x, want the PONG % x", got, want)
	}
	return nil
}

// benchMaskKey masks every frame the load generator sends. One fixed key
// lets a template be masked once, with only the stamp bytes masked per frame;
// the server unmasks every byte whatever the key is. (RFC 6455 wants
// unpredictable keys against cache poisoning by proxies; a load generator
// on loopback has no proxy.)
var benchMaskKey = [4]byte{0x5a, 0xc3, 0x96, 0x3c}
