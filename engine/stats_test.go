package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want DisconnectReason
	}{
		{nil, ReasonPeerGone},
		{&peerGoneError{errors.New("reset")}, ReasonPeerGone},
		{&PeerCloseError{Reason: "bye"}, ReasonPeerClosed},
		{&KickError{Reason: "x"}, ReasonKicked},
		{ErrSlowConsumer, ReasonSlowConsumer},
		{ErrIdleTimeout, ReasonIdleTimeout},
		{ErrFrameTimeout, ReasonFrameTimeout},
		{&proto.ProtocolError{}, ReasonProtocolError},
		{fmt.Errorf("wrapped: %w", ErrListenerPanic), ReasonListenerPanic},
		{ErrServerShutdown, ReasonServerShutdown},
		{ErrProxyProtocol, ReasonProxyProtocol},
		{ErrSessionExpired, ReasonSessionExpired},
		{fmt.Errorf("end: %w", ErrSessionOverflow), ReasonSessionOverflow},
		{errors.New("something else"), ReasonOther},
	} {
		if got := ReasonOf(tc.err); got != tc.want {
			t.Errorf("ReasonOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if NumDisconnectReasons.String() != "other" || ReasonSlowConsumer.String() != "slow_consumer" ||
		ReasonSessionExpired.String() != "session_expired" || ReasonOther.String() != "other" {
		t.Error("reason names")
	}
}

// TestStatsCounts drives a server and checks the snapshot: connections,
// messages and bytes both ways, a broadcast counted per recipient, a kick
// counted by reason, and a slow OnUpdate counted as a tick overrun.
func TestStatsCounts(t *testing.T) {
	s := startServer(t, WithTickRate(100))
	slow := make(chan struct{})
	overran := make(chan struct{})
	s.OnUpdate.AddListener(func() {
		select {
		case <-slow:
			time.Sleep(30 * time.Millisecond) // the overrun under test: 3 tick periods
			close(overran)
			slow = nil
		default:
		}
	})
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if m.BodyString() == "kick" {
			_ = c.Close("bye")
			return
		}
		_ = s.Broadcast(m)
	})
	joined := make(chan struct{}, 2)
	s.OnConnection.AddListener(func(*Client) { joined <- struct{}{} })
	gone := make(chan error, 1)
	s.OnDisconnect.AddListener(func(c *Client, reason error) { gone <- reason })
	run(t, s)
	a, b := dial(t, s), dial(t, s)
	<-joined
	<-joined
	msg := proto.NewMessage().SetBodyString("hello")
	frame, _ := proto.AppendFrame(nil, msg)
	a.send(msg)
	a.readMessage()
	b.readMessage()

	st := s.Stats()
	if st.Connections != 2 || st.ConnectionsTotal != 2 {
		t.Errorf("connections %d total %d, want 2 and 2", st.Connections, st.ConnectionsTotal)
	}
	if st.MessagesReceived != 1 || st.MessagesSent != 2 {
		t.Errorf("messages received %d sent %d, want 1 and 2", st.MessagesReceived, st.MessagesSent)
	}
	if st.BytesReceived != uint64(len(frame)) {
		t.Errorf("bytes received %d, want %d", st.BytesReceived, len(frame))
	}

	b.send(proto.NewMessage().SetBodyString("kick"))
	if r := b.readClose(); r != "bye" {
		t.Fatalf("close reason %q", r)
	}
	if err := <-gone; !errors.Is(err, ErrKicked) {
		t.Fatalf("reason %v", err)
	}
	st = s.Stats()
	if st.Disconnects[ReasonKicked] != 1 || st.Connections != 1 {
		t.Errorf("kicked %d, connections %d; want 1 and 1", st.Disconnects[ReasonKicked], st.Connections)
	}
	if st.BytesSent < uint64(2*len(frame)) {
		t.Errorf("bytes sent %d, want at least %d", st.BytesSent, 2*len(frame))
	}

	close(slow)
	<-overran
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().TickOverruns == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a 30 ms OnUpdate at 100 Hz was not counted as an overrun")
		}
		time.Sleep(time.Millisecond) // the count lands when the tick returns
	}
}
