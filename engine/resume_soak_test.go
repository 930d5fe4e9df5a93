package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/internal/faultproxy"
	"github.com/simpleserver-go/simpleserver/proto"
)

// soakPlan is the size of a fault-injection run: -short keeps CI (2
// cores, -race) quick; without it, the full run of the issue's "done
// means": 10,000 numbered messages each way over 20 s, 10+ cuts.
func soakPlan() (msgs int, dur time.Duration, minCuts int) {
	if testing.Short() {
		return 2000, 4 * time.Second, 4
	}
	return 10_000, 20 * time.Second, 10
}

// seqCheck checks a stream of numbered messages ("<prefix><n>").
type seqCheck struct {
	mu       sync.Mutex
	prefix   string
	last     int
	got      int
	errs     []string
	allowGap bool
	done     chan struct{}
	want     int
}

func newSeqCheck(prefix string, want int, allowGap bool) *seqCheck {
	return &seqCheck{prefix: prefix, want: want, allowGap: allowGap, done: make(chan struct{})}
}

func (s *seqCheck) add(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := strconv.Atoi(strings.TrimPrefix(body, s.prefix))
	switch {
	case err != nil || !strings.HasPrefix(body, s.prefix):
		s.errs = append(s.errs, "bad message "+body)
	case n == s.last+1, s.allowGap && n > s.last:
	default:
		if len(s.errs) < 10 {
			s.errs = append(s.errs, fmt.Sprintf("got %s%d after %s%d", s.prefix, n, s.prefix, s.last))
		}
	}
	if n > s.last {
		s.last = n
	}
	s.got++
	if s.last == s.want {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
}

func (s *seqCheck) result() (got, last int, errs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got, s.last, append([]string(nil), s.errs...)
}

// cutter resets the proxy's connections at random moments, half of the
// time in the middle of a chunk (so that a frame is cut), until stop.
func cutter(p *faultproxy.Proxy, dur time.Duration, minCuts int, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	mean := dur / time.Duration(minCuts+3)
	for {
		d := mean/2 + rand.N(mean)
		select {
		case <-stop:
			return
		case <-time.After(d):
		}
		p.Cut(rand.IntN(2) == 0)
	}
}

// TestResumeUnderFaults is the done-means test: a proxy resets
// the connection at random moments, sometimes mid-frame, while each side
// sends numbered messages. With sessions every message arrives exactly
// once and in order and no OnDisconnect fires; without, the client
// reconnects and reports new sessions and the server sees one disconnect
// per cut.
func TestResumeUnderFaults(t *testing.T) {
	t.Run("sessions", func(t *testing.T) { soak(t, true) })
	t.Run("no-sessions", func(t *testing.T) { soak(t, false) })
	t.Run("sessions-inline", func(t *testing.T) { soak(t, true, WithInline(true)) })
}

func soak(t *testing.T, sessions bool, opts ...Option) {
	msgs, dur, minCuts := soakPlan()
	if sessions {
		opts = append(opts, WithSessionGrace(30*time.Second))
	}
	s := startServer(t, opts...)
	fromClient := newSeqCheck("c", msgs, !sessions)
	users := make(chan *Client, 1024)
	var opens, disconnects atomic.Int64
	s.OnConnection.AddListener(func(c *Client) {
		opens.Add(1)
		users <- c
	})
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { fromClient.add(m.BodyString()) })
	s.OnDisconnect.AddListener(func(c *Client, reason error) {
		disconnects.Add(1)
		if testing.Verbose() {
			t.Logf("OnDisconnect %v: %v", c, reason)
		}
	})
	run(t, s)
	p := newProxy(t, s)

	fromServer := newSeqCheck("s", msgs, !sessions)
	states := newStateLog()
	c := reconnecting(t, p.Addr(), states, client.Reconnect{MinDelay: 5 * time.Millisecond, MaxDelay: 100 * time.Millisecond})

	stop := make(chan struct{})
	var wg, senders sync.WaitGroup
	wg.Add(4)
	senders.Add(2)
	go cutter(p, dur, minCuts, stop, &wg)
	interval := dur / time.Duration(msgs)
	// The client sends c1..cN, paced over dur.
	go func() {
		defer wg.Done()
		defer senders.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 1; i <= msgs; i++ {
			select {
			case <-tick.C:
			case <-stop:
				return
			}
			for {
				err := c.Send(proto.NewMessage().SetBodyString("c" + strconv.Itoa(i)))
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "queue full") {
					t.Errorf("client Send c%d: %v", i, err)
					return
				}
				time.Sleep(time.Millisecond) // queue full while offline: retry
			}
		}
	}()
	// The server sends s1..sN to the client (its current one without
	// sessions), paced over dur.
	go func() {
		defer wg.Done()
		defer senders.Done()
		var u *Client
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 1; i <= msgs; i++ {
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		drain:
			for {
				select {
				case nu := <-users:
					u = nu
				default:
					break drain
				}
			}
			if u == nil {
				select {
				case u = <-users:
				case <-stop:
					return
				}
			}
			err := u.Send(proto.NewMessage().SetBodyString("s" + strconv.Itoa(i)))
			if sessions && err != nil {
				t.Errorf("server Send s%d: %v", i, err)
				return
			}
		}
	}()
	// The client reads.
	go func() {
		defer wg.Done()
		for {
			m, err := c.Receive(context.Background())
			if err != nil {
				return // closed at the end
			}
			fromServer.add(m.BodyString())
		}
	}()

	deadline := time.After(dur + 60*time.Second)
	if sessions {
		for _, sc := range []*seqCheck{fromClient, fromServer} {
			select {
			case <-sc.done:
			case <-deadline:
				got, last, _ := sc.result()
				t.Errorf("%s stream: %d received, last %d of %d", sc.prefix, got, last, msgs)
			}
		}
	} else {
		// Messages may be lost at each cut: wait for the senders, then a
		// little for the last ones in flight.
		senders.Wait()
		settle := time.Now().Add(3 * time.Second)
		for time.Now().Before(settle) {
			_, a, _ := fromClient.result()
			_, b, _ := fromServer.result()
			if a == msgs && b == msgs {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	// Keep the reader goroutine's Receive from blocking forever.
	c.Close()
	wg.Wait()

	if testing.Verbose() {
		states.mu.Lock()
		for _, sc := range states.all {
			t.Logf("state %v attempt %d err %v", sc.State, sc.Attempt, sc.Err)
		}
		states.mu.Unlock()
	}
	cuts := p.Cuts()
	resumed, fresh := states.count(client.StateResumed), states.count(client.StateNewSession)
	t.Logf("sessions=%v: %d cuts, %d resumed, %d new sessions, %d opens, %d disconnects; from client %v, from server %v",
		sessions, cuts, resumed, fresh, opens.Load(), disconnects.Load(), summary(fromClient), summary(fromServer))
	if cuts < minCuts {
		t.Errorf("only %d cuts, want at least %d", cuts, minCuts)
	}
	for _, sc := range []*seqCheck{fromClient, fromServer} {
		if _, _, errs := sc.result(); len(errs) > 0 {
			t.Errorf("%s stream: %v", sc.prefix, errs)
		}
	}
	if sessions {
		for _, sc := range []*seqCheck{fromClient, fromServer} {
			if got, _, _ := sc.result(); got != msgs {
				t.Errorf("%s stream: %d messages received, want exactly %d", sc.prefix, got, msgs)
			}
		}
		if opens.Load() != 1 {
			t.Errorf("%d OnConnections, want 1", opens.Load())
		}
		if n := disconnects.Load(); n > 1 { // 1: the final Close
			t.Errorf("%d OnDisconnects during the run", n)
		}
		if resumed == 0 || fresh != 0 {
			t.Errorf("%d resumes, %d new sessions", resumed, fresh)
		}
		return
	}
	// Without sessions: every connection but the last was cut, and each
	// cut is one OnDisconnect and one new session.
	waitFor(t, "the last OnDisconnect", func() bool { return disconnects.Load() == opens.Load() })
	if fresh < minCuts || resumed != 0 {
		t.Errorf("%d new sessions, %d resumes; want %d+ new sessions", fresh, resumed, minCuts)
	}
	if d := disconnects.Load(); int(d) != fresh+1 {
		t.Errorf("%d OnDisconnects for %d reconnects (+1 final close)", d, fresh)
	}
}

func summary(sc *seqCheck) string {
	got, last, _ := sc.result()
	return fmt.Sprintf("%d (last %d)", got, last)
}
