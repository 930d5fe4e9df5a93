// Command chat-client joins examples/chat: it sends each line typed on
// stdin and prints every message that arrives. When the connection drops
// it reconnects by itself and, if the server keeps sessions (the chat
// example does), resumes where it was: nothing typed or sent is lost.
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
	"os"
	"time"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "chat server address")
	flag.Parse()

	c := simpleserver.NewClient(simpleserver.WithReconnect(simpleserver.Reconnect{
		MaxDelay: 3 * time.Second,
		OnState: func(sc simpleserver.StateChange) {
			switch sc.State {
			case client.StateReconnecting:
				if sc.Attempt == 0 {
					fmt.Println("[connection lost, reconnecting...]")
				}
			case client.StateResumed:
				fmt.Println("[reconnected: session resumed, nothing lost]")
			case client.StateNewSession:
				fmt.Println("[reconnected as a new session]")
			case client.StateGaveUp:
				fmt.Println("[gave up reconnecting]:", sc.Err)
			}
		},
	}))
	if err := c.ConnectAddr(*addr); err != nil {
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
		// While reconnecting, Send queues the line; it is sent on reconnect.
		if err := c.Send(simpleserver.NewMessage().SetBodyString(lines.Text())); err != nil {
			log.Fatalf("send: %v", err)
		}
	}
}
