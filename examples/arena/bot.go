package main

import (
	"context"
	"log"
	"math/rand/v2"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/client"
)

// slowRate is what a slow bot reads, in bytes per second.
const slowRate = 20_000

// runBot is one headless player: it steers at random every 100 ms, chats
// every 5 s, and if it is a speaker (every fourth bot) sends 50 voice
// frames a second. It reads everything it is sent; a slow bot reads only
// ~20 KB/s through a small receive buffer, like a player on bad Wi-Fi.
func runBot(host string, port, n int, slow bool) {
	opts := []client.Option{}
	if slow {
		opts = append(opts, client.WithQueueSize(1), client.WithDialFunc(smallRcvBuf))
	}
	c := simpleserver.NewClient(opts...)
	if err := c.Connect(host, port); err != nil {
		log.Printf("bot %d: %v", n, err)
		return
	}
	defer c.Close()
	go readAll(c, slow)

	rng := rand.New(rand.NewPCG(uint64(n), 7))
	steer := time.NewTicker(100 * time.Millisecond)
	chat := time.NewTicker(5 * time.Second)
	var voice <-chan time.Time
	if n%4 == 0 {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		voice = t.C
	}
	defer steer.Stop()
	defer chat.Stop()
	m := simpleserver.NewMessage()
	frame := make([]byte, 160)
	for seq := 0; ; seq++ {
		m.Reset()
		select {
		case <-steer.C:
			m.AddHeader("input", "").SetBody([]byte{byte(rng.IntN(256)), byte(rng.IntN(256))})
		case <-chat.C:
			m.AddHeader("chat", "").SetBodyString("gg from bot " + strconv.Itoa(n))
		case <-voice:
			m.AddHeader("voice", "").SetBody(frame)
		}
		if err := c.Send(m); err != nil {
			return // the server stopped
		}
	}
}

// readAll reads the bot's messages until the connection ends; a slow bot
// paces itself to slowRate.
func readAll(c *simpleserver.SimpleClient, slow bool) {
	for {
		m, err := c.Receive(context.Background())
		if err != nil {
			return
		}
		if slow {
			size := 4 + m.PayloadSize()
			time.Sleep(time.Duration(size) * time.Second / slowRate)
		}
	}
}

// smallRcvBuf dials with a 4 KiB receive buffer, so that a slow bot's
// kernel does not buffer seconds of game state on its side either.
func smallRcvBuf(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	return d.DialContext(ctx, network, addr)
}
