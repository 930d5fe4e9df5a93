package engine

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// The Autobahn testsuite cannot be installed here, so this table follows
// its sections over raw TCP: 1 framing, 2 ping/pong, 3 reserved bits,
// 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close, 9 big messages. The server
// echoes every MESSAGE; a text message comes back as the binary v1 payload
// of a headerless MESSAGE with the text as body.

// abEchoBody reads the echo of a message whose body is body.
func (c *wsRaw) abEchoBody(body []byte) {
	c.t.Helper()
	m := c.readMessage()
	if m.NumHeaders() != 0 || !bytes.Equal(m.Body(), body) {
		c.t.Fatalf("echo: %d headers, body of %d bytes, want %d bytes", m.NumHeaders(), len(m.Body()), len(body))
	}
}

// abPong reads the next frame and checks it is a pong carrying p.
func (c *wsRaw) abPong(p []byte) {
	c.t.Helper()
	h, got, err := c.readFrame()
	if err != nil || h.Op != wsproto.OpPong || !bytes.Equal(got, p) {
		c.t.Fatalf("want pong % x, got op %d % x (%v)", p, h.Op, got, err)
	}
}

// abClose checks the server closes with code, then the TCP connection.
func (c *wsRaw) abClose(code int) {
	c.t.Helper()
	if got, reason := c.readClose(); got != code {
		c.t.Fatalf("close code %d (%q), want %d", got, reason, code)
	}
}

// chopped writes b in pieces of n bytes, each its own write.
func (c *wsRaw) chopped(b []byte, n int) {
	c.t.Helper()
	for len(b) > 0 {
		k := min(n, len(b))
		c.write(b[:k])
		b = b[k:]
	}
}

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

func rawMsg(body []byte) []byte { return append([]byte{byte(proto.KindMessage), 0}, body...) }

type abCase struct {
	name string
	run  func(c *wsRaw)
}

func abCases(t *testing.T) []abCase {
	var cases []abCase
	add := func(name string, run func(c *wsRaw)) { cases = append(cases, abCase{name, run}) }

	// 1 Framing: payload lengths around the 7/16/64-bit length forms.
	for _, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
		body := bytes.Repeat([]byte("*"), n)
		add("1.text/"+strconv.Itoa(n), func(c *wsRaw) { c.send(true, wsproto.OpText, body); c.abEchoBody(body) })
		if n >= 2 {
			add("1.binary/"+strconv.Itoa(n), func(c *wsRaw) {
				c.send(true, wsproto.OpBinary, rawMsg(body[:n-2])) // a WS payload of exactly n bytes
				c.abEchoBody(body[:n-2])
			})
		}
		add("1.chopped/"+strconv.Itoa(n), func(c *wsRaw) {
			c.chopped(wsFrame(true, wsproto.OpText, body, false, 0), max(1, n/7))
			c.abEchoBody(body)
		})
	}
	add("1.header-byte-by-byte", func(c *wsRaw) {
		body := bytes.Repeat([]byte("x"), 70000)
		f := wsFrame(true, wsproto.OpText, body, false, 0)
		c.chopped(f[:14], 1)
		c.write(f[14:])
		c.abEchoBody(body)
	})
	add("1.two-frames-one-write", func(c *wsRaw) {
		c.write(append(wsFrame(true, wsproto.OpText, []byte("a"), false, 0), wsFrame(true, wsproto.OpText, []byte("b"), false, 0)...))
		c.abEchoBody([]byte("a"))
		c.abEchoBody([]byte("b"))
	})
	add("1.unmasked", func(c *wsRaw) { c.write(wsFrame(true, wsproto.OpText, []byte("hi"), true, 0)); c.abClose(1002) })

	// 2 Ping/pong.
	for _, n := range []int{0, 125} {
		p := bytes.Repeat([]byte{0xfe}, n)
		add("2.ping/"+strconv.Itoa(n), func(c *wsRaw) { c.send(true, wsproto.OpPing, p); c.abPong(p) })
	}
	add("2.ping/126", func(c *wsRaw) {
		f := wsproto.AppendHeader(nil, true, wsproto.OpPing, 126, []byte{1, 2, 3, 4})
		c.write(f) // refused from the header alone: no payload needed
		c.abClose(1002)
	})
	add("2.ping-chopped", func(c *wsRaw) {
		c.chopped(wsFrame(true, wsproto.OpPing, []byte("hello"), false, 0), 1)
		c.abPong([]byte("hello"))
	})
	add("2.unsolicited-pong", func(c *wsRaw) {
		c.send(true, wsproto.OpPong, []byte("x"))
		c.send(true, wsproto.OpText, []byte("after"))
		c.abEchoBody([]byte("after"))
	})
	add("2.ten-pings", func(c *wsRaw) {
		var b []byte
		for i := 0; i < 10; i++ {
			b = append(b, wsFrame(true, wsproto.OpPing, []byte{byte(i)}, false, 0)...)
		}
		c.write(b)
		for i := 0; i < 10; i++ {
			c.abPong([]byte{byte(i)})
		}
	})
	add("2.v1-ping-in-binary", func(c *wsRaw) {
		c.send(true, wsproto.OpBinary, []byte{byte(proto.KindPing), 't', '=', '4', '2'})
		h, p, err := c.readFrame()
		if err != nil || h.Op != wsproto.OpBinary || !bytes.Equal(p, []byte{byte(proto.KindPong), 't', '=', '4', '2'}) {
			c.t.Fatalf("v1 PONG: op %d % x %v", h.Op, p, err)
		}
	})

	// 3 Reserved bits.
	for rsv := byte(1); rsv <= 7; rsv++ {
		add("3.rsv/"+strconv.Itoa(int(rsv)), func(c *wsRaw) {
			// Echoes are dispatched off the loop, so a close for a frame
			// right behind may overtake them: wait for the echo first.
			c.send(true, wsproto.OpText, []byte("ok"))
			c.abEchoBody([]byte("ok"))
			c.write(wsFrame(true, wsproto.OpText, []byte("bad"), false, rsv))
			c.abClose(1002)
		})
	}
	add("3.rsv-on-ping", func(c *wsRaw) { c.write(wsFrame(true, wsproto.OpPing, nil, false, 4)); c.abClose(1002) })

	// 4 Opcodes.
	for _, op := range []wsproto.Opcode{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		add("4.opcode/"+strconv.Itoa(int(op)), func(c *wsRaw) { c.send(true, op, []byte("x")); c.abClose(1002) })
	}

	// 5 Fragmentation.
	add("5.two-fragments", func(c *wsRaw) {
		c.send(false, wsproto.OpText, []byte("frag"))
		c.send(true, wsproto.OpContinuation, []byte("ment"))
		c.abEchoBody([]byte("fragment"))
	})
	add("5.binary-fragments", func(c *wsRaw) {
		p := rawMsg([]byte("binary body"))
		c.send(false, wsproto.OpBinary, p[:1])
		c.send(false, wsproto.OpContinuation, p[1:5])
		c.send(true, wsproto.OpContinuation, p[5:])
		c.abEchoBody([]byte("binary body"))
	})
	add("5.ping-between-fragments", func(c *wsRaw) {
		c.send(false, wsproto.OpText, []byte("a"))
		c.send(true, wsproto.OpPing, []byte("p"))
		c.send(true, wsproto.OpContinuation, []byte("b"))
		c.abPong([]byte("p"))
		c.abEchoBody([]byte("ab"))
	})
	add("5.all-chopped", func(c *wsRaw) {
		b := wsFrame(false, wsproto.OpText, []byte("one "), false, 0)
		b = append(b, wsFrame(true, wsproto.OpPing, []byte("ping"), false, 0)...)
		b = append(b, wsFrame(false, wsproto.OpContinuation, []byte("two "), false, 0)...)
		b = append(b, wsFrame(true, wsproto.OpContinuation, []byte("three"), false, 0)...)
		c.chopped(b, 1)
		c.abPong([]byte("ping"))
		c.abEchoBody([]byte("one two three"))
	})
	add("5.fragmented-ping", func(c *wsRaw) { c.send(false, wsproto.OpPing, []byte("x")); c.abClose(1002) })
	add("5.stray-continuation", func(c *wsRaw) { c.send(true, wsproto.OpContinuation, []byte("x")); c.abClose(1002) })
	add("5.stray-continuation-nofin", func(c *wsRaw) { c.send(false, wsproto.OpContinuation, []byte("x")); c.abClose(1002) })
	add("5.new-message-inside", func(c *wsRaw) {
		c.send(false, wsproto.OpText, []byte("a"))
		c.send(true, wsproto.OpText, []byte("b"))
		c.abClose(1002)
	})
	add("5.hundred-fragments", func(c *wsRaw) {
		c.send(false, wsproto.OpText, []byte("0"))
		for i := 1; i < 99; i++ {
			c.send(false, wsproto.OpContinuation, []byte{byte('0' + i%10)})
		}
		c.send(true, wsproto.OpContinuation, []byte("9"))
		want := make([]byte, 100)
		for i := range want {
			want[i] = byte('0' + i%10)
		}
		c.abEchoBody(want)
	})
	add("5.empty-fragments", func(c *wsRaw) {
		c.send(false, wsproto.OpText, nil)
		c.send(false, wsproto.OpContinuation, nil)
		c.send(true, wsproto.OpContinuation, nil)
		c.abEchoBody(nil)
	})

	// 6 UTF-8.
	hello := []byte("κόσμε, 😀 \u07ff\uffff\U0010ffff")
	for cut := 1; cut < len(hello); cut += 1 {
		add("6.split/"+strconv.Itoa(cut), func(c *wsRaw) {
			c.send(false, wsproto.OpText, hello[:cut])
			c.send(true, wsproto.OpContinuation, hello[cut:])
			c.abEchoBody(hello)
		})
	}
	add("6.byte-per-fragment", func(c *wsRaw) {
		c.send(false, wsproto.OpText, hello[:1])
		for i := 1; i < len(hello)-1; i++ {
			c.send(false, wsproto.OpContinuation, hello[i:i+1])
		}
		c.send(true, wsproto.OpContinuation, hello[len(hello)-1:])
		c.abEchoBody(hello)
	})
	for name, bad := range map[string]string{
		"overlong-slash": "\xc0\xaf", "overlong-3": "\xe0\x80\xaf", "overlong-4": "\xf0\x80\x80\xaf",
		"surrogate-d800": "\xed\xa0\x80", "surrogate-dfff": "\xed\xbf\xbf", "past-10ffff": "\xf4\x90\x80\x80",
		"lone-continuation": "\x80", "fe": "\xfe", "ff": "\xff", "truncated": "a\xe2\x82",
	} {
		add("6.invalid/"+name, func(c *wsRaw) { c.send(true, wsproto.OpText, []byte(bad)); c.abClose(1007) })
		add("6.invalid-fragmented/"+name, func(c *wsRaw) {
			c.send(false, wsproto.OpText, []byte("ok "))
			c.send(true, wsproto.OpContinuation, []byte(bad))
			c.abClose(1007)
		})
	}
	// Fail fast: the close comes after the fragment that cannot be valid,
	// before the message is finished (the rest is never sent).
	for name, bad := range map[string]string{"past-10ffff": "\xf4\x90", "surrogate": "\xed\xa0", "overlong": "\xe0\x80", "bad-lead": "\xff"} {
		add("6.fail-fast/"+name, func(c *wsRaw) {
			c.send(false, wsproto.OpText, []byte("κόσμε"))
			c.send(false, wsproto.OpContinuation, []byte(bad))
			c.abClose(1007)
		})
	}
	add("6.truncated-at-end-of-fragments", func(c *wsRaw) {
		c.send(false, wsproto.OpText, []byte("a\xe2"))
		c.send(true, wsproto.OpContinuation, []byte("\x82"))
		c.abClose(1007)
	})
	add("6.binary-not-checked", func(c *wsRaw) {
		c.send(true, wsproto.OpBinary, rawMsg([]byte("\xff\xfe")))
		c.abEchoBody([]byte("\xff\xfe"))
	})

	// 7 Close.
	add("7.empty-close", func(c *wsRaw) { c.send(true, wsproto.OpClose, nil); c.abClose(wsproto.CloseNoStatus) })
	add("7.close-1-byte", func(c *wsRaw) { c.send(true, wsproto.OpClose, []byte{3}); c.abClose(1002) })
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		add("7.valid-code/"+strconv.Itoa(code), func(c *wsRaw) {
			c.send(true, wsproto.OpClose, closePayload(code, "bye"))
			c.abClose(code)
		})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		add("7.bad-code/"+strconv.Itoa(code), func(c *wsRaw) {
			c.send(true, wsproto.OpClose, closePayload(code, ""))
			c.abClose(1002)
		})
	}
	add("7.reason-123", func(c *wsRaw) {
		c.send(true, wsproto.OpClose, closePayload(1000, string(bytes.Repeat([]byte("r"), 123))))
		c.abClose(1000)
	})
	add("7.reason-bad-utf8", func(c *wsRaw) { c.send(true, wsproto.OpClose, closePayload(1000, "\xce\xba\xe1")); c.abClose(1007) })
	add("7.data-after-close", func(c *wsRaw) {
		c.write(append(wsFrame(true, wsproto.OpClose, closePayload(1000, ""), false, 0), wsFrame(true, wsproto.OpText, []byte("late"), false, 0)...))
		c.abClose(1000) // readClose fails on any echo before the close
	})
	add("7.close-mid-message", func(c *wsRaw) {
		c.send(false, wsproto.OpText, []byte("half"))
		c.send(true, wsproto.OpClose, closePayload(1000, ""))
		c.abClose(1000)
	})
	add("7.v1-close-in-binary", func(c *wsRaw) {
		c.send(true, wsproto.OpBinary, append([]byte{byte(proto.KindClose)}, "bye"...))
		c.abClose(1000)
	})

	// 9 Big messages (within the default 1 MiB; larger ones in TestWSBig).
	add("9.too-big-from-header", func(c *wsRaw) {
		c.write(wsproto.AppendHeader(nil, true, wsproto.OpBinary, 2<<20, []byte{1, 2, 3, 4}))
		c.abClose(1009)
	})
	add("9.too-big-fragmented", func(c *wsRaw) {
		chunk := bytes.Repeat([]byte("z"), 600<<10)
		c.send(false, wsproto.OpText, chunk)
		c.write(wsproto.AppendHeader(nil, true, wsproto.OpContinuation, len(chunk), []byte{1, 2, 3, 4}))
		c.abClose(1009)
	})
	add("9.malformed-v1-payload", func(c *wsRaw) { c.send(true, wsproto.OpBinary, []byte{9, 9}); c.abClose(1002) })
	add("9.empty-binary", func(c *wsRaw) { c.send(true, wsproto.OpBinary, nil); c.abClose(1002) })
	return cases
}

// TestWSAutobahnTable runs every case on its own connection to one server.
func TestWSAutobahnTable(t *testing.T) {
	s, _ := echoWS(t)
	for _, tc := range abCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := wsDial(t, s, "/ws")
			c.t = t
			tc.run(c)
		})
	}
}

// TestWSBig: section 9 with a raised limit: big messages whole, and built
// from many 64-byte fragments.
func TestWSBig(t *testing.T) {
	size := 4 << 20
	if testing.Short() {
		size = 1 << 20
	}
	s, _ := echoWS(t, WithLimits(proto.Limits{MaxFrameSize: 16 << 20}), hzOpt(func(c *Config) {
		c.MaxOutboundBytes = 64 << 20
		c.MaxPendingBytes = 64 << 20
	}))
	c, _ := wsDial(t, s, "/ws")
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	c.send(true, wsproto.OpBinary, rawMsg(body))
	c.abEchoBody(body)
	var b []byte
	p := rawMsg(body)
	for i := 0; i < len(p); i += 64 {
		op := wsproto.OpContinuation
		if i == 0 {
			op = wsproto.OpBinary
		}
		b = append(b, wsFrame(i+64 >= len(p), op, p[i:min(i+64, len(p))], false, 0)...)
	}
	go func() { _, _ = c.Write(b) }()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	c.abEchoBody(body)
}
