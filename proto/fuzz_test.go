package proto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are payloads for FuzzParsePayload: the worked example, every
// kind, and every class of protocol error.
func fuzzSeeds() [][]byte {
	ff9 := bytes.Repeat([]byte{0xff}, 9)
	return [][]byte{
		// Valid.
		payload(KindMessage, 1, 9, "handshake", 0, "Hello server!"), // the worked example
		payload(KindMessage, 0),
		payload(KindMessage, 0, "raw body"),
		payload(KindMessage, 2, 4, "user", 3, "bob", 4, "user", 0, "body"),
		payload(KindMessage, 1, uv(255), strings.Repeat("n", 255), uv(300), strings.Repeat("v", 300)),
		payload(KindMessage, 64, bytes.Repeat([]byte{1, 'h', 0}, 64)),
		payload(KindPing),
		payload(KindPing, strings.Repeat("p", MaxPingPayload)),
		payload(KindPong, "abc"),
		payload(KindClose, "bye"),
		payload(KindClose, strings.Repeat("€", 400)),
		// Invalid, one per class.
		{},
		payload(0x04),
		payload(KindPing, strings.Repeat("p", MaxPingPayload+1)),
		payload(KindMessage),
		payload(KindMessage, 2, 1, "a", 0),
		payload(KindMessage, 1, 5, "ab"),
		payload(KindMessage, 1, 1, "a", 5, "x"),
		payload(KindMessage, 1, 0x80, 0x80),
		payload(KindMessage, ff9, 0x02),
		payload(KindMessage, 0x81, 0x00, 1, "a", 0),
		payload(KindMessage, 1, 1, "a", 0x80, 0x00),
		payload(KindMessage, 65, bytes.Repeat([]byte{1, 'h', 0}, 65)),
		payload(KindMessage, 1, 0, 0),
		payload(KindMessage, 1, uv(256), strings.Repeat("n", 256), 0),
	}
}

// FuzzParsePayload checks that decoding never panics, never writes to its
// input, reports every failure as a *ProtocolError, and that every payload it
// accepts re-encodes to exactly the same bytes.
//
//	go test -fuzz=FuzzParsePayload ./proto
func FuzzParsePayload(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	tight := &Limits{MaxHeaders: 2, MaxHeaderName: 4}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		var m Message
		m.AddHeader("stale", "x").SetBodyString("stale")
		k, rest, err := ParsePayload(data, &m, nil)
		if !bytes.Equal(data, orig) {
			t.Fatal("ParsePayload modified its input")
		}
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Err == nil || !isPrintable(err.Error()) || len(err.Error()) > MaxCloseReason {
				t.Fatalf("error %T %q is not a usable *ProtocolError", err, err)
			}
			if rest != nil {
				t.Fatal("rest != nil on error")
			}
			if len(data) > 0 && k == KindMessage && (m.NumHeaders() != 0 || len(m.Body()) != 0) {
				t.Fatal("message not emptied on error")
			}
			return
		}
		want := framed(data)
		switch k {
		case KindMessage:
			if m.NumHeaders() > DefaultMaxHeaders {
				t.Fatalf("accepted %d headers", m.NumHeaders())
			}
			for n := range m.Headers() {
				if len(n) < 1 || len(n) > DefaultMaxHeaderName {
					t.Fatalf("accepted a %d-byte name", len(n))
				}
			}
			if m.PayloadSize() != len(data) {
				t.Fatalf("PayloadSize = %d, want %d", m.PayloadSize(), len(data))
			}
			got, err := AppendFrame(nil, &m)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("re-encode:\n got % x (%v)\nwant % x", got, err, want)
			}
			if got, _ := AppendFrame(nil, m.Clone()); !bytes.Equal(got, want) {
				t.Fatal("clone re-encodes differently")
			}
			// Editing the decoded message never writes into the payload.
			n := m.NumHeaders()
			m.AddHeader("fz", "v").SetBodyString("edited")
			if !bytes.Equal(data, orig) {
				t.Fatal("AddHeader/SetBody on a decoded message modified the payload")
			}
			var me Message
			if got, err := AppendFrame(nil, &m); err != nil {
				t.Fatal(err)
			} else if _, _, err := ParsePayload(got[LengthSize:], &me, nil); err != nil && n < DefaultMaxHeaders {
				t.Fatalf("edited message does not decode: %v", err)
			} else if err == nil && (me.NumHeaders() != n+1 || me.BodyString() != "edited") {
				t.Fatal("edited message decodes wrong")
			}
			// Tighter limits accept a subset, and fail only on the limits.
			var mt Message
			switch err := mt.Decode(data[1:], tight); {
			case err == nil:
				if got, _ := AppendFrame(nil, &mt); !bytes.Equal(got, want) {
					t.Fatal("decode under tight limits differs")
				}
			case !errors.Is(err, ErrTooManyHeaders) && !errors.Is(err, ErrBadHeaderName):
				t.Fatalf("valid payload fails under tight limits with %v", err)
			}
		case KindPing:
			if len(rest) > MaxPingPayload {
				t.Fatalf("accepted a %d-byte PING", len(rest))
			}
			if got := AppendPing(nil, rest); !bytes.Equal(got, want) {
				t.Fatalf("PING re-encodes as % x", got)
			}
		case KindPong:
			if got := AppendPong(nil, rest); !bytes.Equal(got, want) {
				t.Fatalf("PONG re-encodes as % x", got)
			}
		case KindClose:
			got := AppendClose(nil, string(rest))
			if len(rest) <= MaxCloseReason {
				if !bytes.Equal(got, want) {
					t.Fatalf("CLOSE re-encodes as % x", got)
				}
				break
			}
			// A long reason is cut to at most MaxCloseReason bytes, never
			// inside a rune.
			r := got[LengthSize+1:]
			if len(r) > MaxCloseReason || len(r) < MaxCloseReason-utf8.UTFMax+1 && utf8.Valid(rest) ||
				!bytes.HasPrefix(rest, r) || utf8.Valid(rest) && !utf8.Valid(r) {
				t.Fatalf("CLOSE reason of %d bytes cut to %d", len(rest), len(r))
			}
		default:
			t.Fatalf("accepted kind %v", k)
		}
	})
}

// splitAll takes every complete frame off the front of stream, feeding it in
// chunks of the given size (0: all at once), and returns their payloads and
// the error that stopped it, if any.
func splitAll(stream []byte, chunk, maxFrame int) (frames [][]byte, err error) {
	if chunk <= 0 {
		chunk = len(stream)
	}
	var buf []byte
	for off := 0; off < len(stream); {
		c := min(chunk, len(stream)-off)
		buf = append(buf, stream[off:off+c]...)
		off += c
		for {
			p, n, err := Split(buf, maxFrame)
			if err != nil {
				return frames, err
			}
			if n == 0 {
				break
			}
			if n != LengthSize+len(p) || n > len(buf) {
				panic("Split: n does not match the payload")
			}
			frames = append(frames, bytes.Clone(p))
			buf = buf[n:]
		}
	}
	return frames, nil
}

// FuzzSplit checks that Split never panics and that a stream split all at
// once and one fed in chunks yield the same frames and the same error.
//
//	go test -fuzz=FuzzSplit ./proto
func FuzzSplit(f *testing.F) {
	// Small streams keep the fuzzer fast: every seed payload, framed, some
	// of them concatenated.
	var all []byte
	for i, p := range fuzzSeeds() {
		fr := framed(p)
		f.Add(fr, uint8(i), uint16(0))
		if len(p) > 0 && len(p) < 100 {
			all = append(all, fr...)
		}
	}
	f.Add(all, uint8(2), uint16(0))
	f.Add(all, uint8(0), uint16(20))
	f.Add(framed(payload(KindMessage, 1, 9, "handshake", 0, "Hello server!")), uint8(0), uint16(0))
	f.Add([]byte{0, 0, 0, 0}, uint8(1), uint16(0))
	f.Add(append(AppendPing(nil, []byte("x")), 0, 0, 1, 0), uint8(2), uint16(100))
	f.Add(append(AppendPing(nil, []byte("x")), 0, 0), uint8(5), uint16(0))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8, maxFrame uint16) {
		whole, errWhole := splitAll(stream, 0, int(maxFrame))
		parts, errParts := splitAll(stream, int(chunk)+1, int(maxFrame))
		if len(whole) != len(parts) {
			t.Fatalf("%d frames at once, %d in chunks", len(whole), len(parts))
		}
		for i := range whole {
			if !bytes.Equal(whole[i], parts[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
		if (errWhole == nil) != (errParts == nil) || errWhole != nil && errWhole.Error() != errParts.Error() {
			t.Fatalf("errors differ: %v vs %v", errWhole, errParts)
		}
		var m Message
		for _, p := range whole {
			if maxFrame > 0 && len(p) > int(maxFrame) {
				t.Fatalf("%d-byte payload passed max %d", len(p), maxFrame)
			}
			ParsePayload(p, &m, nil) // must not panic
		}
	})
}
