package client

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReconnectBackoffIsCappedAndJittered(t *testing.T) {
	p := Reconnect{MinDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	seen := map[time.Duration]bool{}
	for n := 1; n <= 12; n++ {
		want := min(p.MinDelay<<(n-1), p.MaxDelay)
		for i := 0; i < 50; i++ {
			d := p.backoff(n)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", n, d, want/2, want)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct waits in 600 draws: no jitter", len(seen))
	}
}

func TestWithReconnectValidates(t *testing.T) {
	for _, p := range []Reconnect{
		{MinDelay: -1}, {MaxAttempts: -1}, {QueueBytes: -1},
		{MinDelay: time.Second, MaxDelay: time.Millisecond},
	} {
		if err := New(WithReconnect(p)).Connect("127.0.0.1", 1); err == nil || !strings.Contains(err.Error(), "WithReconnect") {
			t.Errorf("WithReconnect(%+v): Connect = %v, want the option's error", p, err)
		}
	}
	c := New(WithReconnect(Reconnect{}))
	if p := c.cfg.reconnect; p.MinDelay != DefaultReconnectMinDelay || p.MaxDelay != DefaultReconnectMaxDelay || p.QueueBytes != DefaultReconnectQueue {
		t.Fatalf("defaults: %+v", p)
	}
	if err := c.Send(nil); !errors.Is(err, ErrNilMessage) {
		t.Fatalf("Send(nil) = %v", err)
	}
	if err := c.SendRaw([]byte("x")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("SendRaw before Connect = %v, want ErrNotConnected", err)
	}
	if st := c.State(); st != 0 || st.String() != "not connected" {
		t.Fatalf("State before Connect = %v", st)
	}
	c.Close()
	if st := c.State(); st != StateClosed {
		t.Fatalf("State after Close = %v", st)
	}
}

func TestStateNames(t *testing.T) {
	for st, want := range map[State]string{
		StateConnected: "connected", StateReconnecting: "reconnecting", StateResumed: "resumed",
		StateNewSession: "new session", StateGaveUp: "gave up", StateClosed: "closed",
	} {
		if st.String() != want {
			t.Errorf("%d: %q, want %q", st, st.String(), want)
		}
	}
}
