package engine

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
	"github.com/simpleserver-go/simpleserver/proxyproto"
)

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7).To4(), Port: 1}, "192.0.2.7/32"},
		// One host routinely has a whole /64.
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 1}, "2001:db8:1:2::/64"},
	} {
		k, ok := addrKey(tc.addr)
		if !ok || k.String() != tc.want {
			t.Errorf("addrKey(%v) = %v, %v; want %s", tc.addr, k, ok, tc.want)
		}
	}
	if _, ok := addrKey(&net.UnixAddr{Name: "/x"}); ok {
		t.Error("a Unix address got a key")
	}
}

// TestMaxConnectionsPerAddr: the cap counts connections per source address;
// one over it gets CLOSE with ErrAddrLimit and produces no events; other
// addresses are unaffected; a slot frees when a client leaves.
func TestMaxConnectionsPerAddr(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(map[bool]string{false: "dispatch", true: "inline"}[inline], func(t *testing.T) {
			s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), WithInline(inline),
				WithMaxConnectionsPerAddr(2))
			ev := hzRecord(s)
			run(t, s)
			a1 := dialFrom(t, s, "127.0.0.1")
			ev.clientFor(t, a1)
			a2 := dialFrom(t, s, "127.0.0.1")
			ev.clientFor(t, a2)
			over := dialFrom(t, s, "127.0.0.1")
			if got := over.readClose(); got != ErrAddrLimit.Error() {
				t.Fatalf("third connection from 127.0.0.1 got CLOSE %q, want %q", got, ErrAddrLimit)
			}
			over.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := over.r.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
				t.Fatalf("after CLOSE: %v, want the connection closed", err)
			}
			b1 := dialFrom(t, s, "127.0.0.2") // another address has its own slots
			ev.clientFor(t, b1)
			if n, _ := ev.counts(); n != 3 {
				t.Fatalf("%d OnConnection events, want 3", n)
			}
			if st := s.Stats(); st.ConnectionsRefused != 1 {
				t.Errorf("ConnectionsRefused = %d, want 1", st.ConnectionsRefused)
			}

			a1.Close()
			ev.nextDisc(t, 5*time.Second)
			a3 := dialFrom(t, s, "127.0.0.1")
			ev.clientFor(t, a3)
			ev.noDisc(t)
		})
	}
}

// TestMaxConnectionsPerAddrBehindProxy: from a trusted proxy, the cap
// applies to the client address in the PROXY header, not the proxy's.
func TestMaxConnectionsPerAddrBehindProxy(t *testing.T) {
	s := newProxyServer(t, hzQuiet(), hzOpt(func(c *Config) { c.MaxConnectionsPerAddr = 1 }))
	hello := func(c *rawConn, from netip.AddrPort) {
		frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("hi"))
		c.write(append(proxyproto.AppendV1(nil, from, frontAddr), frame...))
	}
	p1 := dialFrom(t, s.Server, "127.0.0.1")
	hello(p1, playerAddr)
	if got := p1.readMessage().BodyString(); got != playerAddr.String() {
		t.Fatalf("first player is %s, want %s", got, playerAddr)
	}
	// Same proxy, another player: admitted.
	other := netip.MustParseAddrPort("203.0.113.8:4000")
	p2 := dialFrom(t, s.Server, "127.0.0.1")
	hello(p2, other)
	if got := p2.readMessage().BodyString(); got != other.String() {
		t.Fatalf("second player is %s, want %s", got, other)
	}
	// The first player again, through the same proxy: over its cap.
	p3 := dialFrom(t, s.Server, "127.0.0.1")
	hello(p3, netip.AddrPortFrom(playerAddr.Addr(), 999))
	if got := p3.readClose(); got != ErrAddrLimit.Error() {
		t.Fatalf("second connection of %s got CLOSE %q, want %q", playerAddr.Addr(), got, ErrAddrLimit)
	}
	for i := 0; i < 2; i++ {
		<-s.joined
	}
	select {
	case a := <-s.joined:
		t.Fatalf("refused connection announced as %s", a)
	default:
	}
}

// TestAcceptRate: with AcceptRate 50/s, a burst of 75 dials is admitted at
// that pace (the first second's worth at once, the rest 20 ms apart), and
// every one is admitted in the end: none is refused.
func TestAcceptRate(t *testing.T) {
	const rate, n = 50, 75
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), WithAcceptRate(rate))
	var (
		mu    sync.Mutex
		times []time.Time
	)
	s.OnConnection.AddListener(func(*Client) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
	})
	run(t, s)
	start := time.Now()
	for i := 0; i < n; i++ {
		dial(t, s)
	}
	hzWaitFor(t, 20*time.Second, "every connection admitted", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) == n
	})
	mu.Lock()
	defer mu.Unlock()
	// The burst covers the first rate; the other n-rate take (n-rate)/rate s.
	if took := times[n-1].Sub(start); took < time.Duration(n-rate)*time.Second/rate*8/10 {
		t.Errorf("%d connections admitted in %v: faster than %d/s", n, took, rate)
	}
}
