// Command echo is a SimpleServer that answers every message with the same
// headers, in the same order, and the same body.
//
//	go run ./examples/echo -addr 127.0.0.1:8080
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/simpleserver-go/simpleserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	verbose := flag.Bool("v", false, "verbose logging")
	flag.Parse()
	host, port := splitAddr(*addr)

	// WebSocket on: browsers connect to ws://<addr>/ws (binary messages
	// are v1 payloads, text messages arrive as headerless messages). Clients
	// of the original Python library are served too, unmodified.
	server := simpleserver.NewServer(host, port, simpleserver.WithVerbose(*verbose),
		simpleserver.WithWebSocket(true), simpleserver.WithLegacyClients(true))
	server.OnMessage.AddListener(func(c *simpleserver.Client, m *simpleserver.NetworkMessage) {
		// m is valid until this listener returns; Send encodes it at once.
		if err := c.Send(m); err != nil {
			log.Printf("echo to %v: %v", c, err)
		}
	})
	if err := server.StartAsync(); err != nil {
		log.Fatal(err)
	}
	log.Printf("echo server listening on %v (Ctrl-C stops)", server.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Stop(shutdown); err != nil {
		log.Printf("stop: %v", err)
	}
}

func splitAddr(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		log.Fatalf("bad -addr %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		log.Fatalf("bad port in -addr %q", addr)
	}
	return host, port
}
