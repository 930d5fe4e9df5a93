package engine

import (
	"io"
	"net"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// BenchmarkConnect measures the accept path: each op dials, has a PING
// answered (so the server has accepted, adopted and opened the
// connection), and closes. conns/s is what one client goroutine gets over
// loopback; allocs/op counts the client's dial too.
func BenchmarkConnect(b *testing.B) {
	s := startServer(b, WithEventLoops(1))
	run(b, s)
	addr := s.Addr().String()
	ping := proto.AppendPing(nil, []byte("12345678"))
	pong := make([]byte, len(proto.AppendPong(nil, []byte("12345678"))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Write(ping); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, pong); err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}
