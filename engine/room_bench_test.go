package engine

import (
	"net"
	"strconv"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// fanoutBench connects receivers raw clients and returns the server-side
// Clients and the conns (drained by drainConns).
func fanoutBench(b *testing.B, receivers int) (*Server, []*Client, []net.Conn) {
	s := startServer(b, WithEventLoops(1))
	run(b, s)
	conns := make([]net.Conn, receivers)
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	waitFor(b, "clients registered", func() bool { return s.NumClients() == receivers })
	return s, s.Clients(), conns
}

func drainConns(conns []net.Conn, buf []byte) {
	for _, c := range conns {
		_ = c.SetReadDeadline(timeNowPlus())
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
	}
}

// BenchmarkRoomFanout measures a room broadcast next to Broadcast
// (MessageClients for a subset) to the same number of clients, as a
// listener would send it: inside the dispatcher's flush scope, flushed
// when it ends (one write per client). 1000 clients are connected; the
// room has N of them. ns/delivery is the server's cost per client reached.
func BenchmarkRoomFanout(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, kind := range []string{"Broadcast", "Room"} {
			b.Run(kind+"/"+strconv.Itoa(n), func(b *testing.B) {
				s, cs, conns := fanoutBench(b, 1000)
				targets := cs[:n]
				r := s.Room("bench")
				for _, c := range targets {
					_ = r.Join(c)
				}
				send := func(m *proto.Message) { _ = r.Broadcast(m) }
				if kind == "Broadcast" {
					if n == len(cs) {
						send = func(m *proto.Message) { _ = s.Broadcast(m) }
					} else {
						send = func(m *proto.Message) { _ = s.MessageClients(targets, m) }
					}
				}
				m := proto.NewMessage().AddHeader("pos", "").SetBody(make([]byte, 32))
				buf := make([]byte, 1<<16)
				drainEvery := max(1, 64*10/n) // bounded bytes per socket between drains
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.dispatchMu.Lock()
					s.logic.begin()
					send(m)
					list := s.logic.end()
					s.flushList(list)
					s.logic.recycle(list)
					s.dispatchMu.Unlock()
					if i%drainEvery == drainEvery-1 {
						b.StopTimer()
						drainConns(conns[:n], buf)
						b.StartTimer()
					}
				}
				b.StopTimer()
				perDelivery := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
				b.ReportMetric(perDelivery, "ns/delivery")
				b.ReportMetric(1e9/perDelivery, "deliveries/s")
			})
		}
	}
}

// BenchmarkRoomJoinLeave measures one Join plus one Leave on a room that
// already holds size members: O(1), so the size must not matter.
func BenchmarkRoomJoinLeave(b *testing.B) {
	for _, size := range []int{10, 1000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			s, cs, _ := fanoutBench(b, size+1)
			r := s.Room("bench")
			for _, c := range cs[:size] {
				_ = r.Join(c)
			}
			other := s.Room("other")
			_ = other.Join(cs[size])
			c := cs[size]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = r.Join(c)
				r.Leave(c)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "joinleave/s")
		})
	}
}
