package engine

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// echoPipeline keeps depth frames in flight on one connection and reads the
// echoes into a reused buffer, so the client side allocates nothing and
// allocations counted are the server's.
func echoPipeline(tb testing.TB, s *Server, n, depth int, frame []byte) {
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	batch := make([]byte, 0, len(frame)*depth)
	for i := 0; i < depth; i++ {
		batch = append(batch, frame...)
	}
	buf := make([]byte, len(batch))
	for sent := 0; sent < n; sent += depth {
		if _, err := conn.Write(batch); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			tb.Fatal(err)
		}
	}
}

func echoServer(tb testing.TB, opts ...Option) *Server {
	s := startServer(tb, append([]Option{WithEventLoops(1)}, opts...)...)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(tb, s)
	return s
}

func benchEcho(b *testing.B, opts ...Option) {
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().AddHeader("type", "move").SetBody(make([]byte, 64)))
	s := echoServer(b, opts...)
	echoPipeline(b, s, 10_000, 16, frame) // warm pools and buffers
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	echoPipeline(b, s, b.N, 16, frame)
}

// BenchmarkEchoDispatch measures decode + dispatch + send through the logic
// goroutine, over loopback; allocs/op is per echoed message.
func BenchmarkEchoDispatch(b *testing.B) { benchEcho(b) }

// BenchmarkEchoInline is BenchmarkEchoDispatch with listeners on the loop.
func BenchmarkEchoInline(b *testing.B) { benchEcho(b, WithInline(true)) }

// BenchmarkBroadcastFanout measures Broadcast's encode-once fan-out to 1000
// clients, queueing only (the dispatcher scope flushes after the listener).
func BenchmarkBroadcastFanout(b *testing.B) {
	s := startServer(b, WithEventLoops(1))
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = s.Broadcast(m, c) })
	run(b, s)
	const receivers = 1000
	conns := make([]net.Conn, receivers)
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	waitFor(b, "clients registered", func() bool { return s.NumClients() == receivers })
	m := proto.NewMessage().AddHeader("bcast", "").SetBody(make([]byte, 64))
	drain := make([]byte, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.dispatchMu.Lock()
		s.logic.begin()
		_ = s.Broadcast(m)
		list := s.logic.end()
		s.flushList(list)
		s.logic.recycle(list)
		s.dispatchMu.Unlock()
		if i%64 == 63 { // keep socket buffers from filling
			b.StopTimer()
			for _, c := range conns {
				_ = c.SetReadDeadline(timeNowPlus())
				for {
					if _, err := c.Read(drain); err != nil {
						break
					}
				}
			}
			b.StartTimer()
		}
	}
}

func timeNowPlus() (t time.Time) { return time.Now().Add(time.Millisecond) }
