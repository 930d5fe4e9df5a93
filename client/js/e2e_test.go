package js

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

// TestNodeAgainstServer runs the JavaScript client (test/e2e.mjs, in Node)
// against a real server with WebSocket on: messages with headers, raw text,
// a 200 kB body, a ping round trip, a kick whose reason reaches the client
// as a close, and a client that leaves with its own reason.
func TestNodeAgainstServer(t *testing.T) {
	node, flags := nodeWithWebSocket(t)
	s := engine.NewServer("127.0.0.1", 0, engine.WithWebSocket(true))
	left := make(chan error, 4)
	s.OnMessage.AddListener(func(c *engine.Client, m *proto.Message) {
		if m.HasHeader("kick") {
			c.Close("kicked by the test")
			return
		}
		c.Send(m)
	})
	s.OnDisconnect.AddListener(func(c *engine.Client, reason error) { left <- reason })
	if err := s.StartAsync(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Stop(ctx)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := "ws://" + s.Addr().String() + "/ws"
	cmd := exec.CommandContext(ctx, node, append(flags, filepath.Join("test", "e2e.mjs"), url)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node e2e.mjs: %v\n%s\n%s", err, out, ee.Stderr)
		}
		t.Fatalf("node e2e.mjs: %v", err)
	}
	var got struct {
		Protocol string
		Echo     struct {
			Headers [][2]string
			Body, K string
		}
		Raw struct {
			Headers int
			Body    string
		}
		Big struct {
			Size int
			Same bool
		}
		RTT       float64
		ReadEmpty bool
		Kicked    struct {
			Code         int
			Reason       string
			ByClient     bool
			IsCloseError bool
		}
		ErrAfter int
		Left     struct {
			Code     int
			ByClient bool
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("e2e.mjs printed %q: %v", out, err)
	}
	if got.Protocol != "simpleserver.v1" {
		t.Errorf("subprotocol %q, want simpleserver.v1", got.Protocol)
	}
	if want := [][2]string{{"handshake", ""}, {"k", "v"}, {"k", "second"}}; len(got.Echo.Headers) != 3 ||
		got.Echo.Headers[0] != want[0] || got.Echo.Headers[1] != want[1] || got.Echo.Headers[2] != want[2] ||
		got.Echo.Body != "Hello server!" || got.Echo.K != "v" {
		t.Errorf("echo: %+v", got.Echo)
	}
	if got.Raw.Headers != 0 || got.Raw.Body != "raw text" {
		t.Errorf("raw: %+v", got.Raw)
	}
	if got.Big.Size != 200_000 || !got.Big.Same {
		t.Errorf("big: %+v", got.Big)
	}
	if got.RTT <= 0 || !got.ReadEmpty {
		t.Errorf("ping rtt %v ms, read() empty %v", got.RTT, got.ReadEmpty)
	}
	if !got.Kicked.IsCloseError || got.Kicked.ByClient || got.Kicked.Reason != "kicked by the test" || got.Kicked.Code < 4000 || got.ErrAfter != got.Kicked.Code {
		t.Errorf("kick seen by the client: %+v (err() code %d)", got.Kicked, got.ErrAfter)
	}
	t.Logf("the kick reached Node as close code %d %q; ping rtt %.2f ms", got.Kicked.Code, got.Kicked.Reason, got.RTT)
	if got.Left.Code != 1000 || !got.Left.ByClient {
		t.Errorf("client's own close: %+v", got.Left)
	}

	// What the server saw: the kick, then the client's own goodbye.
	for i, want := range []error{engine.ErrKicked, engine.ErrPeerClosed} {
		select {
		case reason := <-left:
			if !errors.Is(reason, want) {
				t.Errorf("disconnect %d: %v, want %v", i, reason, want)
			}
			var pc *engine.PeerCloseError
			if errors.As(reason, &pc) && pc.Reason != "js says bye" {
				t.Errorf("the server got the reason %q, want %q", pc.Reason, "js says bye")
			}
		case <-ctx.Done():
			t.Fatalf("disconnect %d never came", i)
		}
	}
}
