package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWSRefusalIsTryAgainLater: a browser refused because the server is
// full, or its address is at the cap, completes the handshake and reads
// close 1013 (try again later) with the reason, not the 1006 of a failed
// connection; a page request gets 503; a v1 client still reads CLOSE. No
// refused connection raises an event.
func TestWSRefusalIsTryAgainLater(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    Option
		reason error
	}{
		{"server-full", hzOpt(func(c *Config) { c.MaxConnections = 1 }), ErrServerFull},
		{"addr-cap", WithMaxConnectionsPerAddr(1), ErrAddrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, append(wsOpts(), tc.opt, WithHTTPPage("/", "text/plain", []byte("page")))...)
			var opens, discs atomic.Int64
			s.OnConnection.AddListener(func(*Client) { opens.Add(1) })
			s.OnDisconnect.AddListener(func(*Client, error) { discs.Add(1) })
			run(t, s)
			first := coderDial(t, s, nil) // holds the one slot
			waitFor(t, "the first client", func() bool { return opens.Load() == 1 })

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, "ws://"+s.Addr().String()+"/ws", &websocket.DialOptions{Subprotocols: []string{"simpleserver.v1"}})
			if err != nil {
				t.Fatalf("the refused browser's handshake: %v", err)
			}
			defer c.CloseNow()
			if resp.StatusCode != 101 || c.Subprotocol() != "simpleserver.v1" {
				t.Errorf("handshake: status %d, subprotocol %q", resp.StatusCode, c.Subprotocol())
			}
			_, _, err = c.Read(ctx)
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 1013 || ce.Reason != tc.reason.Error() {
				t.Fatalf("read: %v; want close 1013 %q", err, tc.reason)
			}

			// A page request over the cap: 503 with the reason.
			hc := &http.Client{Timeout: 10 * time.Second}
			r, err := hc.Get("http://" + s.Addr().String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != 503 || string(body) != tc.reason.Error()+"\n" {
				t.Errorf("page over the cap: %d %q, want 503 %q", r.StatusCode, body, tc.reason)
			}

			// A v1 client over the cap: CLOSE with the reason, once it speaks.
			v := dial(t, s)
			v.write([]byte{0, 0, 0, 1, 2}) // an empty PONG: speak first
			if got := v.readClose(); got != tc.reason.Error() {
				t.Errorf("v1 client over the cap: CLOSE %q, want %q", got, tc.reason)
			}

			if st := s.Stats(); st.ConnectionsRefused != 3 {
				t.Errorf("ConnectionsRefused = %d, want 3", st.ConnectionsRefused)
			}
			if opens.Load() != 1 || discs.Load() != 0 {
				t.Errorf("%d OnConnection, %d OnDisconnect; want 1, 0", opens.Load(), discs.Load())
			}
			waitFor(t, "the held refusals to be released", func() bool { return s.heldRefusals.Load() == 0 })
			first.Close(websocket.StatusNormalClosure, "")
		})
	}
}
