// Command chat-client joins examples/chat: it sends each line typed on
// stdin and prints every message that arrives.
//
//	go run ./examples/chat-client -addr 127.0.0.1:8080
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "chat server address")
	flag.Parse()
	host, p, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("bad -addr %q: %v", *addr, err)
	}
	port, _ := strconv.Atoi(p)

	c := simpleserver.NewClient()
	if err := c.Connect(host, port); err != nil {
		log.Fatalf("Connection failed: %v", err)
	}
	defer c.Close()
	fmt.Printf("connected to %s; type a line and press Enter (Ctrl-D quits)\n", *addr)

	go func() {
		for {
			m, err := c.Receive(context.Background())
			if err != nil {
				var ce *client.CloseError
				if errors.As(err, &ce) {
					fmt.Println("server closed the chat:", ce.Reason)
				} else if !errors.Is(err, client.ErrClosed) {
					fmt.Println("disconnected:", err)
				}
				os.Exit(0)
			}
			from, _ := m.HeaderString("from")
			fmt.Printf("[%s] %s\n", from, m.Body())
		}
	}()

	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		if err := c.Send(simpleserver.NewMessage().SetBodyString(lines.Text())); err != nil {
			log.Fatalf("send: %v", err)
		}
	}
}
