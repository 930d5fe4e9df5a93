package wsproto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// Request is an HTTP/1.1 request head, reduced to what a WebSocket
// handshake (or a small static page) needs.
type Request struct {
	Method     string
	Target     string // as sent: path and query
	Path       string // Target without the query
	ProtoMinor int    // 1 for HTTP/1.1; HTTP/1.0 and 2+ are refused
	Host       string
	Upgrade    string // comma lists, as sent
	Connection string
	Key        string // Sec-WebSocket-Key
	Version    string // Sec-WebSocket-Version
	Origin     string
	Protocols  []string // Sec-WebSocket-Protocol tokens, in order
	Extensions string   // Sec-WebSocket-Extensions, never granted
}

// ParseRequest parses the request head at the start of b: request line and
// headers up to the blank line. It returns n == 0 and no error while b
// holds only part of it, ErrRequestTooLarge once max bytes (max > 0) hold
// no end of head, and ErrBadRequest for a head that is not HTTP/1.x. n is
// the head's size: what follows is the peer's next bytes (frames).
func ParseRequest(b []byte, max int) (r Request, n int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if max > 0 && len(b) >= max {
			return r, 0, ErrRequestTooLarge
		}
		return r, 0, nil
	}
	n = end + 4
	if max > 0 && n > max {
		return r, 0, ErrRequestTooLarge
	}
	head := b[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(proto) != 8 {
		return r, 0, ErrBadRequest
	}
	r.Method, r.Target = string(method), string(target)
	r.ProtoMinor = int(proto[7] - '0')
	if r.ProtoMinor < 0 || r.ProtoMinor > 9 {
		return r, 0, ErrBadRequest
	}
	r.Path, _, _ = strings.Cut(r.Target, "?")
	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return r, 0, ErrBadRequest
		}
		// Only the headers kept are turned into strings: a browser sends a
		// dozen others, and each string is garbage per connection.
		v := bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("host")):
			r.Host = string(v)
		case bytes.EqualFold(name, []byte("upgrade")):
			r.Upgrade = joinField(r.Upgrade, v)
		case bytes.EqualFold(name, []byte("connection")):
			r.Connection = joinField(r.Connection, v)
		case bytes.EqualFold(name, []byte("sec-websocket-key")):
			r.Key = string(v)
		case bytes.EqualFold(name, []byte("sec-websocket-version")):
			r.Version = string(v)
		case bytes.EqualFold(name, []byte("origin")):
			r.Origin = string(v)
		case bytes.EqualFold(name, []byte("sec-websocket-protocol")):
			for len(v) > 0 {
				var p []byte
				p, v, _ = bytes.Cut(v, []byte(","))
				if p = bytes.TrimSpace(p); len(p) > 0 {
					r.Protocols = append(r.Protocols, string(p))
				}
			}
		case bytes.EqualFold(name, []byte("sec-websocket-extensions")):
			r.Extensions = joinField(r.Extensions, v)
		}
	}
	return r, n, nil
}

func joinField(old string, v []byte) string {
	if old == "" {
		return string(v)
	}
	return old + ", " + string(v)
}

// HasToken reports whether the comma-separated list holds token, compared
// case-insensitively (Connection: keep-alive, Upgrade).
func HasToken(list, token string) bool {
	for list != "" {
		var t string
		t, list, _ = strings.Cut(list, ",")
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// IsUpgrade reports whether r asks for a WebSocket upgrade at all.
func (r *Request) IsUpgrade() bool {
	return HasToken(r.Upgrade, "websocket") || r.Key != ""
}

// CheckUpgrade returns the HTTP status a server answers r with when r asks
// for a WebSocket upgrade: 0 when r is a valid one, 405 for a method other
// than GET, 426 for a request without "Upgrade: websocket" or with a missing
// or unsupported Sec-WebSocket-Version (answer with "Upgrade: websocket"
// and "Sec-WebSocket-Version: 13") and 400 for anything else malformed.
func (r *Request) CheckUpgrade() (status int, why string) {
	switch {
	case r.Method != "GET":
		return 405, "method is not GET"
	case r.ProtoMinor < 1:
		return 400, "HTTP/1.1 or later required"
	case r.Host == "":
		return 400, "no Host header"
	case !HasToken(r.Upgrade, "websocket"):
		return 426, "Upgrade header lacks websocket"
	case !HasToken(r.Connection, "upgrade"):
		return 400, "Connection header lacks upgrade"
	case r.Version != "13":
		return 426, "Sec-WebSocket-Version must be 13"
	case !ValidKey(r.Key):
		return 400, "Sec-WebSocket-Key is not 16 bytes of base64"
	}
	return 0, ""
}

// ValidKey reports whether key is the base64 of 16 bytes.
func ValidKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte // 24 base64 characters decode to at most 18 bytes
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}

// AcceptKey returns Sec-WebSocket-Accept for key.
func AcceptKey(key string) string { return string(AppendAcceptKey(nil, key)) }

// AppendAcceptKey appends Sec-WebSocket-Accept for key to dst, allocating
// nothing for a valid key (24 bytes).
func AppendAcceptKey(dst []byte, key string) []byte {
	var in [24 + len(GUID)]byte
	var sum [sha1.Size]byte
	if len(key) == 24 {
		copy(in[copy(in[:], key):], GUID)
		sum = sha1.Sum(in[:])
	} else {
		sum = sha1.Sum([]byte(key + GUID))
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// AppendUpgradeResponse appends the 101 response accepting key, with the
// subprotocol when it is not "". No extension is ever granted.
func AppendUpgradeResponse(dst []byte, key, subprotocol string) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = AppendAcceptKey(dst, key)
	if subprotocol != "" {
		dst = append(dst, "\r\nSec-WebSocket-Protocol: "...)
		dst = append(dst, subprotocol...)
	}
	return append(dst, "\r\n\r\n"...)
}

// AppendResponse appends a complete HTTP/1.1 response that closes the
// connection: status, extra header lines (each "Name: value"), and body.
func AppendResponse(dst []byte, status int, contentType string, body []byte, extra ...string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = appendInt(dst, status)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	dst = append(dst, "\r\nConnection: close\r\nContent-Length: "...)
	dst = appendInt(dst, len(body))
	if contentType != "" {
		dst = append(dst, "\r\nContent-Type: "...)
		dst = append(dst, contentType...)
	}
	for _, h := range extra {
		dst = append(dst, "\r\n"...)
		dst = append(dst, h...)
	}
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

func appendInt(dst []byte, v int) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// StatusText returns the reason phrase of the statuses this package uses.
func StatusText(status int) string {
	switch status {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	case 503:
		return "Service Unavailable"
	}
	return "Error"
}
