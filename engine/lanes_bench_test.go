package engine

import (
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// BenchmarkLaneSend measures SendOn per lane, to a client that keeps up
// (every frame goes straight to the socket, as Send does: the lane costs a
// branch) and to one that is behind (the frame is held: replaced or
// evicted in the lane's buffers). Steady state allocates nothing.
func BenchmarkLaneSend(b *testing.B) {
	lanes := []struct {
		name string
		lane func(i int) Lane
	}{
		{"reliable", func(int) Lane { return Reliable }},
		{"latest", func(i int) Lane { return Latest(uint64(i % 20)) }},
		{"ephemeral", func(int) Lane { return Ephemeral(time.Second) }},
	}
	m := proto.NewMessage().AddHeader("k", "p").SetBody(make([]byte, 24))
	for _, behind := range []bool{false, true} {
		for _, l := range lanes {
			if behind && l.name == "reliable" {
				continue // it would only queue until the cap
			}
			name := "keepingUp/" + l.name
			if behind {
				name = "behind/" + l.name
			}
			b.Run(name, func(b *testing.B) {
				s := startServer(b, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) {
					c.MaxEphemeralBytes = 16 << 10
					if behind { // small buffers, so that the stalled reader is behind at once
						c.SocketSendBuffer = 4096
					}
				}))
				conns := make(chan *Client, 1)
				s.OnConnection.AddListener(func(c *Client) { conns <- c })
				run(b, s)
				rcvBuf := 0
				if behind {
					rcvBuf = 4096
				}
				rc := hzDial(b, s, rcvBuf)
				c := <-conns
				if behind {
					_ = c.Send(proto.NewMessage().SetBody(make([]byte, 512<<10)))
					waitFor(b, "the client to be behind", func() bool {
						c.mu.Lock()
						defer c.mu.Unlock()
						return c.backlog
					})
				} else {
					go func() { _, _ = io.Copy(io.Discard, rc.Conn) }()
				}
				for i := 0; i < 1000; i++ { // grow the buffers
					_ = c.SendOn(l.lane(i), m)
				}
				b.ReportAllocs()
				b.ResetTimer()
				before := c.LaneStats()
				for i := 0; i < b.N; i++ {
					_ = c.SendOn(l.lane(i), m)
				}
				b.StopTimer()
				// How many sends were held and then replaced or dropped:
				// ~0 when keeping up, ~all when behind.
				st := c.LaneStats()
				b.ReportMetric(float64(st.Replaced+st.Dropped()-before.Replaced-before.Dropped())/float64(b.N), "held-and-lost/op")
			})
		}
	}
}

// BenchmarkLaneRelease measures what the lane poller adds to a held
// frame's delivery: a reader stalls while a 512 KiB reliable message and
// then one ephemeral frame are sent (the frame is held: the socket is
// full); the reader then reads as fast as it can. The reader keeps the
// kernel's default receive buffer: a tiny one adds TCP's own window-update
// stalls (tens of ms), which are no part of what is measured here. Reported: the time from
// the last byte of the reliable message to the held frame's arrival,
// that is how long the frame waited after the socket had room.
func BenchmarkLaneRelease(b *testing.B) {
	s := startServer(b, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.SocketSendBuffer = 4096 }))
	conns := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { conns <- c })
	run(b, s)
	rc := hzDial(b, s, 0)
	c := <-conns
	filler := proto.NewMessage().AddHeader("k", "f").SetBody(make([]byte, 512<<10))
	buf := make([]byte, 1<<20)
	var total time.Duration
	worst := time.Duration(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = c.Send(filler)
		_ = c.SendOn(Ephemeral(10*time.Second), slowChat(i))
		c.mu.Lock()
		held := c.lanes != nil && c.lanes.held()
		c.mu.Unlock()
		if !held {
			b.Fatal("the ephemeral frame was not held: the socket was not full")
		}
		// Read the filler frame, then time the held one.
		var got []byte
		fillerSize := 0
		var t0 time.Time
		for {
			_ = rc.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := rc.Conn.Read(buf[len(got):cap(buf)][:min(len(buf)-len(got), 64<<10)])
			if err != nil {
				b.Fatal(err)
			}
			got = buf[:len(got)+n]
			if fillerSize == 0 && len(got) >= 4 {
				fillerSize = int(binary.BigEndian.Uint32(got)) + 4
			}
			if t0.IsZero() && fillerSize > 0 && len(got) >= fillerSize {
				t0 = time.Now()
			}
			if fillerSize > 0 && len(got) > fillerSize {
				if _, size, _ := proto.Split(got[fillerSize:], 0); size > 0 {
					break
				}
			}
		}
		d := time.Since(t0)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/release")
	b.ReportMetric(float64(worst.Microseconds()), "µs-worst")
	b.ReportMetric(float64(s.cfg.LanePollInterval.Microseconds()), "µs-interval")
}
