// Package proxyproto parses PROXY protocol headers, version 1 (text) and
// version 2 (binary), as HAProxy specifies them
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt). A TCP
// balancer or TLS terminator in front of a server sends one such header
// first on each connection it opens, so that the server learns the
// client's real address.
//
// Parse works on whatever prefix of the stream has arrived: it returns
// ErrIncomplete until the header is whole, so an event-loop server calls it
// again on each read without keeping state of its own. It does no I/O and
// never reads past the header.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Sizes from the specification.
const (
	// MaxV1Size is the longest v1 header, CRLF included.
	MaxV1Size = 107
	// V2HeaderSize is v2's fixed part: signature, version/command, family
	// and length.
	V2HeaderSize = 16
	// MaxV2Size is the longest v2 header Parse accepts: the fixed part plus
	// 2 KiB of addresses and TLVs (the specification allows 64 KiB; no
	// balancer sends that much, and a cap keeps a bad peer from making
	// the server buffer it).
	MaxV2Size = V2HeaderSize + 2048
)

// Errors Parse returns. Anything but ErrIncomplete means the connection
// does not start with a valid header.
var (
	// ErrIncomplete: what has arrived is a valid prefix; read more.
	ErrIncomplete = errors.New("proxyproto: incomplete header")
	// ErrNoHeader: the bytes start with neither v1's "PROXY " nor v2's signature.
	ErrNoHeader = errors.New("proxyproto: no PROXY protocol header")
	// ErrMalformed: the header is not valid; the error wraps it with details.
	ErrMalformed = errors.New("proxyproto: malformed header")
)

var (
	v1Prefix    = []byte("PROXY ")
	v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// Header is a parsed PROXY protocol header.
type Header struct {
	// Version is 1 or 2.
	Version int
	// Local is set for a v2 LOCAL command, a v1 "UNKNOWN" protocol, or an
	// address family this package does not carry (UNSPEC, AF_UNIX): the
	// connection is the proxy's own (a health check, say) and the real
	// peer address is the connection's.
	Local bool
	// Source is the client's address, Destination the address it
	// connected to on the proxy. Both are zero when Local.
	Source, Destination netip.AddrPort
}

// Match reports whether b can start a PROXY header: yes, no, or not yet
// known (b is a prefix of a signature). need is false once decided.
func Match(b []byte) (match, need bool) {
	for _, sig := range [][]byte{v1Prefix, v2Signature} {
		n := min(len(b), len(sig))
		if bytes.Equal(b[:n], sig[:n]) {
			if n < len(sig) {
				return false, true
			}
			return true, false
		}
	}
	return false, false
}

// Parse parses the header at the start of b and returns it with its size
// in bytes. It returns ErrIncomplete while b is a valid but unfinished
// prefix, ErrNoHeader when b does not start like a header, and an error
// wrapping ErrMalformed when it is not a valid one.
func Parse(b []byte) (Header, int, error) {
	match, need := Match(b)
	switch {
	case need:
		return Header{}, 0, ErrIncomplete
	case !match:
		return Header{}, 0, ErrNoHeader
	case b[0] == 'P':
		return parseV1(b)
	}
	return parseV2(b)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// parseV1 parses "PROXY TCP4 src dst sport dport\r\n" (or TCP6, UNKNOWN).
func parseV1(b []byte) (Header, int, error) {
	end := bytes.IndexByte(b[:min(len(b), MaxV1Size)], '\n')
	if end < 0 {
		if len(b) >= MaxV1Size {
			return Header{}, 0, malformed("v1 header longer than %d bytes", MaxV1Size)
		}
		return Header{}, 0, ErrIncomplete
	}
	if end == 0 || b[end-1] != '\r' {
		return Header{}, 0, malformed("v1 header does not end in CRLF")
	}
	line := string(b[len(v1Prefix) : end-1])
	h := Header{Version: 1}
	fields := splitSpaces(line)
	if len(fields) == 0 {
		return Header{}, 0, malformed("v1 header has no protocol")
	}
	switch fields[0] {
	case "UNKNOWN":
		h.Local = true // the rest of the line is to be ignored
		return h, end + 1, nil
	case "TCP4", "TCP6":
	default:
		return Header{}, 0, malformed("v1 protocol %q", fields[0])
	}
	if len(fields) != 5 {
		return Header{}, 0, malformed("v1 header has %d fields, want 6", len(fields)+1)
	}
	src, err := v1Addr(fields[0], fields[1], fields[3])
	if err != nil {
		return Header{}, 0, err
	}
	dst, err := v1Addr(fields[0], fields[2], fields[4])
	if err != nil {
		return Header{}, 0, err
	}
	h.Source, h.Destination = src, dst
	return h, end + 1, nil
}

// splitSpaces splits on single spaces, as v1 requires; an empty field
// (two spaces) makes the header malformed later on.
func splitSpaces(s string) []string {
	var out []string
	for {
		i := 0
		for i < len(s) && s[i] != ' ' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			return out
		}
		s = s[i+1:]
	}
}

func v1Addr(proto, ip, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, malformed("v1 address %q", ip)
	}
	if (proto == "TCP4") != a.Is4() {
		return netip.AddrPort{}, malformed("v1 address %q is not %s", ip, proto)
	}
	if len(port) == 0 || len(port) > 5 || (len(port) > 1 && port[0] == '0') {
		return netip.AddrPort{}, malformed("v1 port %q", port)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, malformed("v1 port %q", port)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// parseV2 parses the binary header: signature, version and command,
// family and transport, length, addresses, then TLVs (skipped).
func parseV2(b []byte) (Header, int, error) {
	if len(b) < V2HeaderSize {
		return Header{}, 0, ErrIncomplete
	}
	verCmd, fam := b[12], b[13]
	if verCmd>>4 != 2 {
		return Header{}, 0, malformed("v2 version %d", verCmd>>4)
	}
	cmd := verCmd & 0xF
	if cmd > 1 {
		return Header{}, 0, malformed("v2 command %d", cmd)
	}
	n := int(binary.BigEndian.Uint16(b[14:16]))
	size := V2HeaderSize + n
	if size > MaxV2Size {
		return Header{}, 0, malformed("v2 header of %d bytes, over the %d-byte cap", size, MaxV2Size)
	}
	if len(b) < size {
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 2}
	body := b[V2HeaderSize:size]
	if cmd == 0 { // LOCAL: the proxy's own connection; addresses ignored
		h.Local = true
		return h, size, nil
	}
	switch fam {
	case 0x11: // TCP over IPv4
		if len(body) < 12 {
			return Header{}, 0, malformed("v2 IPv4 address block of %d bytes", len(body))
		}
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	case 0x21: // TCP over IPv6
		if len(body) < 36 {
			return Header{}, 0, malformed("v2 IPv6 address block of %d bytes", len(body))
		}
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
	case 0x00, 0x31: // UNSPEC, or a UNIX stream socket: nothing to carry
		h.Local = true
	default:
		return Header{}, 0, malformed("v2 family/transport 0x%02x is not a stream", fam)
	}
	return h, size, nil
}

// AppendV1 appends a v1 header for src and dst (a proxy's side, for tests
// and tools).
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	p := "TCP4"
	if src.Addr().Is6() && !src.Addr().Is4In6() {
		p = "TCP6"
	}
	b = append(b, v1Prefix...)
	b = append(b, p...)
	b = append(b, ' ')
	b = append(b, src.Addr().Unmap().String()...)
	b = append(b, ' ')
	b = append(b, dst.Addr().Unmap().String()...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

// AppendV2 appends a v2 PROXY header for src and dst with the TLV bytes
// tlvs (may be nil).
func AppendV2(b []byte, src, dst netip.AddrPort, tlvs []byte) []byte {
	b = append(b, v2Signature...)
	b = append(b, 0x21)
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() && d.Is4() {
		b = append(b, 0x11)
		b = binary.BigEndian.AppendUint16(b, uint16(12+len(tlvs)))
		s4, d4 := s.As4(), d.As4()
		b = append(append(b, s4[:]...), d4[:]...)
	} else {
		b = append(b, 0x21)
		b = binary.BigEndian.AppendUint16(b, uint16(36+len(tlvs)))
		s16, d16 := src.Addr().As16(), dst.Addr().As16()
		b = append(append(b, s16[:]...), d16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	return append(b, tlvs...)
}
