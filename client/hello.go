package client

import (
	"net"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// hello is what a Client sends the moment it connects: an empty PONG, which
// every protocol v1 peer ignores (docs/PROTOCOL.md: an unsolicited PONG is
// ignored) and which needs no answer. A server that serves several
// transports on one port (v1, WebSocket, the original library's text
// format) learns what a connection speaks from its first byte, and makes it
// a client (OnConnection) only then; saying hello at once means this
// client never waits for that, even if the application sends nothing.
var hello = proto.AppendPong(nil, nil)

// sayHello writes hello on a connection nobody else uses yet.
func sayHello(conn net.Conn, timeout time.Duration) error {
	if timeout > 0 {
		conn.SetWriteDeadline(time.Now().Add(timeout))
		defer conn.SetWriteDeadline(time.Time{})
	}
	_, err := conn.Write(hello)
	return err
}
