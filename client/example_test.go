package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/proto"
)

// The seed README's client example: connect, send a handshake, then poll
// for messages without blocking.
func ExampleClient() {
	c := client.New()
	if err := c.Connect("localhost", 8080); err != nil {
		fmt.Println("Connection failed:", err)
		return
	}
	defer c.Close()

	msg := proto.NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!")
	if err := c.Send(msg); err != nil {
		fmt.Println("send:", err)
		return
	}

	for {
		if m := c.Read(); m != nil {
			if m.HasHeader("handshake") {
				fmt.Println("Server handshake received")
			}
			continue
		}
		if err := c.Err(); err != nil {
			fmt.Println("disconnected:", err)
			return
		}
		time.Sleep(time.Millisecond) // a game would render a frame here
	}
}

// A client with nothing else to do waits for messages with Receive.
func ExampleClient_Receive() {
	c := client.New(client.WithKeepAlive(10*time.Second, 5*time.Second))
	ctx := context.Background()
	if err := c.ConnectContext(ctx, "localhost", 8080); err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	for {
		m, err := c.Receive(ctx)
		if err != nil {
			var ce *client.CloseError
			if errors.As(err, &ce) {
				fmt.Println("server closed:", ce.Reason)
			} else {
				fmt.Println("connection ended:", err)
			}
			return
		}
		fmt.Println(m.BodyString())
	}
}
