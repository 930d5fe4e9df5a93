package engine

import (
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/simpleserver-go/simpleserver/proto"
)

// rawSocket is a client connection made with bare syscalls, so that the
// test's own side costs no Go heap and heap deltas are the server's.
func rawSocket(t *testing.T, s *Server) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &unix.SockaddrInet4{Port: s.Addr().(*net.TCPAddr).Port, Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return fd
}

func heapNow() uint64 {
	var ms runtime.MemStats
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSessionMemory measures, per client, the server's heap for an idle
// plain client, an idle session client, and a suspended one (empty window,
// then with 1 KiB waiting), and checks that a suspended client costs no
// more than a connected idle one plus its window.
func TestSessionMemory(t *testing.T) {
	if raceOn {
		t.Skip("heap sizes are not meaningful under the race detector")
	}
	const n = 1000
	const helloWait = 20 * time.Millisecond
	s, ev := sessionServer(t, WithEventLoops(1), Option(func(c *Config) { c.SessionHelloWait = helloWait }))
	users := make(chan *Client, n)
	s.OnConnection.AddListener(func(c *Client) { users <- c })

	measure := func(what string, open func(fd int)) (perConn float64, fds []int) {
		base := heapNow()
		for i := 0; i < n; i++ {
			fd := rawSocket(t, s)
			open(fd)
			fds = append(fds, fd)
		}
		waitFor(t, what+" announced", func() bool { return len(users) == n })
		time.Sleep(10 * helloWait) // WELCOMEs written out, hello timers gone
		perConn = float64(int64(heapNow())-int64(base)) / n
		return perConn, fds
	}
	drain := func() []*Client {
		out := make([]*Client, 0, n)
		for len(out) < n {
			out = append(out, <-users)
		}
		return out
	}

	// Plain clients: speak first with an empty PONG, like the Go client.
	plain, pfds := measure("plain", func(fd int) { _, _ = unix.Write(fd, proto.AppendPong(nil, nil)) })
	drain()
	for _, fd := range pfds {
		unix.Close(fd)
	}
	waitFor(t, "plain clients gone", func() bool { _, _, _, d := ev.counts(); return d == n })

	hello := proto.AppendHello(nil, nil, 0)
	base := heapNow()
	sess, sfds := measure("session", func(fd int) { _, _ = unix.Write(fd, hello) })
	us := drain()
	for _, fd := range sfds {
		unix.Close(fd)
	}
	waitFor(t, "sessions suspended", func() bool { _, su, _, _ := ev.counts(); return su == n })
	time.Sleep(10 * helloWait)
	suspended := float64(int64(heapNow())-int64(base)) / n
	body := make([]byte, 1000)
	for _, u := range us {
		if err := u.Send(proto.NewMessage().SetBody(body)); err != nil {
			t.Fatal(err)
		}
	}
	withWindow := float64(int64(heapNow())-int64(base)) / n

	t.Logf("server heap per client: idle plain %.0f B, idle session %.0f B, suspended %.0f B, suspended with a 1 KiB message waiting %.0f B",
		plain, sess, suspended, withWindow)
	// 10% slack: heap measures of 1000 connections are noisy by ~50 B.
	if suspended > plain*1.1 {
		t.Errorf("a suspended client costs %.0f B, more than an idle connected one (%.0f B)", suspended, plain)
	}
	if frame := float64(len(body) + 8); withWindow > plain*1.1+frame*1.2 {
		t.Errorf("a suspended client with %v B waiting costs %.0f B: more than idle (%.0f) plus its window", frame, withWindow, plain)
	}
}
