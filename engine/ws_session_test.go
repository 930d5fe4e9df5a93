package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/simpleserver-go/simpleserver/proto"
)

// TestWSSessionCloseSuspend: over WebSocket a session's frames are binary
// messages; a client's close with CloseSuspend (4001) suspends the
// session, which a HELLO with its token then resumes; any other close
// from the client ends it (docs/PROTOCOL.md, "Sessions over WebSocket").
func TestWSSessionCloseSuspend(t *testing.T) {
	s := startServer(t, append(wsOpts(), WithSessionGrace(30*time.Second))...)
	events := make(chan string, 16)
	s.OnConnection.AddListener(func(*Client) { events <- "connect" })
	s.OnSuspend.AddListener(func(_ *Client, r error) { events <- "suspend" })
	s.OnResume.AddListener(func(*Client) { events <- "resume" })
	s.OnDisconnect.AddListener(func(_ *Client, r error) {
		if errors.Is(r, ErrPeerClosed) {
			events <- "disconnect: peer closed"
			return
		}
		events <- "disconnect: " + r.Error()
	})
	run(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	greet := func(token []byte) proto.Welcome {
		t.Helper()
		c := coderDial(t, s, nil)
		if err := c.Write(ctx, websocket.MessageBinary, proto.AppendHello(nil, token, 0)[proto.LengthSize:]); err != nil {
			t.Fatal(err)
		}
		typ, p, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageBinary || len(p) == 0 || proto.Kind(p[0]) != proto.KindWelcome {
			t.Fatalf("want a binary WELCOME: %v %v % x", err, typ, p)
		}
		w, err := proto.ParseWelcome(p[1:])
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageBinary, proto.AppendAck(nil, 0)[proto.LengthSize:]); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		return w
	}
	want := func(e string) {
		t.Helper()
		select {
		case got := <-events:
			if got != e {
				t.Fatalf("event %q, want %q", got, e)
			}
		case <-ctx.Done():
			t.Fatalf("no %q event", e)
		}
	}
	w := greet(nil)
	want("connect")
	conns[0].Close(CloseSuspend, "keep-alive timeout")
	want("suspend")
	w2 := greet(w.Token)
	if !w2.Resumed() {
		t.Fatalf("WELCOME %+v: not resumed", w2)
	}
	want("resume")
	conns[1].Close(websocket.StatusNormalClosure, "bye")
	want("disconnect: peer closed")
}
