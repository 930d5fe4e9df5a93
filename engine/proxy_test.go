package engine

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
	"github.com/simpleserver-go/simpleserver/proxyproto"
)

// dialFrom connects to s from the loopback address local (127.0.0.0/8 is
// all on lo, so one server sees trusted and untrusted peers).
func dialFrom(t *testing.T, s *Server, local string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

// proxyServer trusts 127.0.0.1 only; each MESSAGE is answered with the
// sender's RemoteAddr as OnConnection saw it and as it is now.
type proxyServer struct {
	*Server
	joined chan string
	left   chan error
}

func newProxyServer(t *testing.T, opts ...Option) *proxyServer {
	t.Helper()
	opts = append([]Option{WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32"))}, opts...)
	ps := &proxyServer{Server: startServer(t, opts...), joined: make(chan string, 8), left: make(chan error, 8)}
	ps.OnConnection.AddListener(func(c *Client) { ps.joined <- c.RemoteAddr().String() })
	ps.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		_ = c.Send(proto.NewMessage().SetBodyString(c.RemoteAddr().String()))
	})
	ps.OnDisconnect.AddListener(func(c *Client, reason error) { ps.left <- reason })
	run(t, ps.Server)
	return ps
}

var (
	playerAddr = netip.MustParseAddrPort("203.0.113.7:51234")
	frontAddr  = netip.MustParseAddrPort("198.51.100.1:443")
)

func TestProxyHeadersSetRemoteAddr(t *testing.T) {
	v6 := netip.MustParseAddrPort("[2001:db8::7]:4000")
	for _, tc := range []struct {
		name   string
		header []byte
		want   string
	}{
		{"v1", proxyproto.AppendV1(nil, playerAddr, frontAddr), "203.0.113.7:51234"},
		{"v1 tcp6", proxyproto.AppendV1(nil, v6, netip.MustParseAddrPort("[2001:db8::1]:443")), "[2001:db8::7]:4000"},
		{"v2", proxyproto.AppendV2(nil, playerAddr, frontAddr, []byte{0x04, 0, 1, 0}), "203.0.113.7:51234"},
	} {
		for _, inline := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "", true: " inline"}[inline], func(t *testing.T) {
				s := newProxyServer(t, WithInline(inline))
				c := dialFrom(t, s.Server, "127.0.0.1")
				// The header arrives in pieces, and the first frame right
				// behind it in the same write.
				frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("hi"))
				half := len(tc.header) / 2
				c.write(tc.header[:half])
				select {
				case a := <-s.joined:
					t.Fatalf("announced as %s before the header was whole", a)
				case <-time.After(50 * time.Millisecond): // nothing must happen: no signal to wait for
				}
				c.write(append(append([]byte{}, tc.header[half:]...), frame...))
				if got := <-s.joined; got != tc.want {
					t.Errorf("OnConnection saw %s, want %s", got, tc.want)
				}
				if got := c.readMessage().BodyString(); got != tc.want {
					t.Errorf("RemoteAddr %s, want %s", got, tc.want)
				}
			})
		}
	}
}

func TestProxyLocalKeepsProxyAddr(t *testing.T) {
	s := newProxyServer(t)
	c := dialFrom(t, s.Server, "127.0.0.1")
	local := []byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00") // v2 LOCAL: a health check
	c.write(local)
	if got := <-s.joined; got != c.LocalAddr().String() {
		t.Errorf("OnConnection saw %s, want the proxy's own %s", got, c.LocalAddr())
	}
}

// TestProxyRefusals: a trusted peer with a malformed header, or none, and
// an untrusted peer with a header, are each closed with a reason that says
// so; the trusted ones never reach the listeners.
func TestProxyRefusals(t *testing.T) {
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("hi"))
	for _, tc := range []struct {
		name, from string
		send       []byte
		want       string
		announced  bool
	}{
		{"malformed v1", "127.0.0.1", []byte("PROXY TCP4 1.2.3.4 nonsense 1 2\r\n"), "proxy protocol: proxyproto: malformed header", false},
		{"malformed v2", "127.0.0.1", []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x12\x00\x0c" + strings.Repeat("\x00", 12)), "proxy protocol: proxyproto: malformed header", false},
		{"trusted without header", "127.0.0.1", frame, "proxy protocol: no header from trusted proxy", false},
		{"untrusted v1", "127.0.0.2", proxyproto.AppendV1(nil, playerAddr, frontAddr), "proxy protocol: header from untrusted address 127.0.0.2", true},
		{"untrusted v2", "127.0.0.2", proxyproto.AppendV2(nil, playerAddr, frontAddr, nil), "proxy protocol: header from untrusted address 127.0.0.2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newProxyServer(t)
			c := dialFrom(t, s.Server, tc.from)
			if tc.announced {
				<-s.joined
			}
			c.write(tc.send)
			if got := c.readClose(); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("CLOSE %q, want prefix %q", got, tc.want)
			}
			if tc.announced {
				if err := <-s.left; !errors.Is(err, ErrProxyProtocol) {
					t.Fatalf("OnDisconnect reason %v, want ErrProxyProtocol", err)
				}
				return
			}
			// Unannounced: the refusal is counted, no event fires.
			deadline := time.Now().Add(10 * time.Second)
			for s.Stats().ConnectionsRefused != 1 {
				if time.Now().After(deadline) {
					t.Fatal("refusal not counted")
				}
				time.Sleep(time.Millisecond) // OnClose runs on the loop after our read
			}
			select {
			case a := <-s.joined:
				t.Fatalf("refused connection announced as %s", a)
			case err := <-s.left:
				t.Fatalf("refused connection fired OnDisconnect(%v)", err)
			default:
			}
		})
	}
}

// TestProxyUntrustedDirectClient: with the feature on, a client from an
// untrusted address that sends no header is served as usual.
func TestProxyUntrustedDirectClient(t *testing.T) {
	s := newProxyServer(t)
	c := dialFrom(t, s.Server, "127.0.0.2")
	if got := <-s.joined; !strings.HasPrefix(got, "127.0.0.2:") {
		t.Fatalf("OnConnection saw %s", got)
	}
	c.send(proto.NewMessage().SetBodyString("hi"))
	if got := c.readMessage().BodyString(); !strings.HasPrefix(got, "127.0.0.2:") {
		t.Fatalf("RemoteAddr %s", got)
	}
}

// TestProxyHeaderTimeout: a trusted peer that never finishes its header
// is cut by FrameTimeout, without events.
func TestProxyHeaderTimeout(t *testing.T) {
	s := newProxyServer(t, Option(func(c *Config) { c.FrameTimeout = 100 * time.Millisecond }))
	c := dialFrom(t, s.Server, "127.0.0.1")
	c.write([]byte("PROXY TCP4 "))
	if got := c.readClose(); got != ErrFrameTimeout.Error() {
		t.Fatalf("CLOSE %q, want %q", got, ErrFrameTimeout.Error())
	}
}
