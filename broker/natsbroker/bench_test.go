package natsbroker_test

import (
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/broker/natsbroker"
	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

// BenchmarkFanout measures one broadcast from a client to 30 others:
// every iteration sends one message and waits until all 30 have it.
// Variants, all in one run: the 30 on one node without a broker, on one
// node with a broker (what NATS costs a node that has no peers), and
// spread 10/10/10 over three nodes (20 of them across NATS). Reported:
// deliveries/s and the p50/p99 of the time until the last client has it.
//
//	go test -run '^$' -bench Fanout -benchtime 2000x ./broker/natsbroker
func BenchmarkFanout(b *testing.B) {
	const receivers = 30
	for _, v := range []struct {
		name   string
		nodes  int
		broker bool
	}{{"1node", 1, false}, {"1node+nats", 1, true}, {"3nodes", 3, true}} {
		b.Run(v.name, func(b *testing.B) {
			url := ""
			if v.broker {
				url = startNATS(b, -1).ClientURL()
			}
			var ports []int
			for i := range v.nodes {
				opts := []engine.Option{engine.WithEventLoops(1), engine.WithLogger(quiet)}
				if v.broker {
					opts = append(opts, engine.WithBroker(natsbroker.New(natsbroker.Config{URL: url, Logger: quiet})), engine.WithNodeID(uint32(i+1)))
				}
				s := engine.NewServer("127.0.0.1", 0, opts...)
				s.OnMessage.AddListener(func(c *engine.Client, m *proto.Message) { _ = s.Broadcast(m, c) })
				if err := s.StartAsync(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					_ = s.Stop(ctx)
				})
				ports = append(ports, s.Addr().(*net.TCPAddr).Port)
			}
			got := make(chan struct{}, receivers*4)
			dial := func(port int) *client.Client {
				c := client.New()
				if err := c.Connect("127.0.0.1", port); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { c.Close() })
				return c
			}
			for i := range receivers {
				c := dial(ports[i%len(ports)])
				go func() {
					for {
						if _, err := c.Receive(context.Background()); err != nil {
							return
						}
						got <- struct{}{}
					}
				}()
			}
			sender := dial(ports[0])
			msg := proto.NewMessage().AddHeader("type", "state").SetBody(make([]byte, 64))
			// Warm up until every receiver is registered on its node and
			// every subscription is live: one broadcast reaching all 30.
			for warm := false; !warm; {
				_ = sender.Send(msg)
				n := 0
				timeout := time.After(200 * time.Millisecond)
			wait:
				for n < receivers {
					select {
					case <-got:
						n++
					case <-timeout:
						break wait
					}
				}
				warm = n == receivers
				for len(got) > 0 {
					<-got
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				t0 := time.Now()
				if err := sender.Send(msg); err != nil {
					b.Fatal(err)
				}
				for range receivers {
					<-got
				}
				lat = append(lat, time.Since(t0))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(b.N*receivers)/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
