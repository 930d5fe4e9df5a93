package js

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/internal/faultproxy"
	"github.com/simpleserver-go/simpleserver/proto"
)

// TestNodeResumeUnderFaults runs the JavaScript client with reconnect (in
// Node, test/resume-e2e.mjs) against a real server over WebSocket, through
// a proxy that resets the connection at random moments, half of the time
// in the middle of a chunk. With sessions, each side sends numbered
// messages and receives every one of the other's exactly once and in
// order, the server sees one OnConnection and no OnDisconnect until the
// client leaves, and the client reports resumes only. Without sessions on
// the server, the client still reconnects and reports new sessions, one
// per cut.
func TestNodeResumeUnderFaults(t *testing.T) {
	t.Run("sessions", func(t *testing.T) { nodeSoak(t, true) })
	t.Run("no-sessions", func(t *testing.T) { nodeSoak(t, false) })
}

func nodeSoak(t *testing.T, sessions bool) {
	node, flags := nodeWithWebSocket(t)
	msgs, dur, minCuts := 3000, 6*time.Second, 5
	if testing.Short() {
		msgs, dur, minCuts = 2000, 4*time.Second, 4
	}
	opts := []engine.Option{engine.WithWebSocket(true)}
	if sessions {
		opts = append(opts, engine.WithSessionGrace(30*time.Second))
	}
	s := engine.NewServer("127.0.0.1", 0, opts...)

	var (
		mu          sync.Mutex
		fromClient  = &stream{prefix: "c", gapsOK: !sessions}
		users       = make(chan *engine.Client, 256)
		opens       atomic.Int64
		disconnects atomic.Int64
		lastReason  atomic.Pointer[error]
		cutterDone  atomic.Bool
		clientDone  = make(chan struct{})
		once        sync.Once
		online      = make(chan struct{}) // the client's connect() resolved
		onlineOnce  sync.Once
	)
	s.OnConnection.AddListener(func(c *engine.Client) {
		opens.Add(1)
		users <- c
	})
	s.OnMessage.AddListener(func(c *engine.Client, m *proto.Message) {
		body := m.BodyString()
		if body == "online" {
			onlineOnce.Do(func() { close(online) })
			return
		}
		if body == "fin" {
			if cutterDone.Load() {
				c.Send(proto.NewMessage().SetBodyString("end"))
			}
			return
		}
		mu.Lock()
		fromClient.add(body)
		complete := fromClient.last == msgs
		mu.Unlock()
		if complete {
			once.Do(func() { close(clientDone) })
		}
	})
	s.OnDisconnect.AddListener(func(c *engine.Client, reason error) {
		disconnects.Add(1)
		lastReason.Store(&reason)
	})
	if err := s.StartAsync(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Stop(ctx)
	}()
	p, err := faultproxy.New(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	ctx, cancel := context.WithTimeout(context.Background(), dur+90*time.Second)
	defer cancel()
	mode := "plain"
	if sessions {
		mode = "sessions"
	}
	cmd := exec.CommandContext(ctx, node, append(flags, filepath.Join("test", "resume-e2e.mjs"),
		"ws://"+p.Addr()+"/ws", strconv.Itoa(msgs), strconv.Itoa(int(dur/time.Millisecond)), mode)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// The server sends s1..sN to the client (its current one without
	// sessions), paced over dur.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	serverDone := make(chan struct{})
	var sendErr atomic.Value
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(serverDone)
		var u *engine.Client
		select {
		case u = <-users:
		case <-stop:
			return
		}
		tick := time.NewTicker(dur / time.Duration(msgs))
		defer tick.Stop()
		for i := 1; i <= msgs; i++ {
			select {
			case <-tick.C:
			case <-stop:
				return
			}
			for more := true; more; {
				select {
				case u = <-users:
				default:
					more = false
				}
			}
			err := u.Send(proto.NewMessage().SetBodyString("s" + strconv.Itoa(i)))
			if sessions && err != nil {
				sendErr.Store(fmt.Errorf("server Send s%d: %w", i, err))
				return
			}
		}
	}()
	// The cutter: resets at random moments until the server has sent
	// everything and (with sessions) received everything.
	go func() {
		defer wg.Done()
		defer cutterDone.Store(true)
		// Cuts start once the client is online: connect() reports a
		// failed first connection instead of retrying it, as the Go
		// client's Connect does.
		select {
		case <-online:
		case <-stop:
			return
		}
		mean := dur / time.Duration(minCuts+3)
		for p.Cuts() < minCuts || !isDone(serverDone) || sessions && !isDone(clientDone) {
			select {
			case <-stop:
				return
			case <-time.After(mean/2 + rand.N(mean)):
			}
			if !isDone(serverDone) || sessions && !isDone(clientDone) || p.Cuts() < minCuts {
				p.Cut(rand.IntN(2) == 0)
			}
		}
	}()
	runErr := cmd.Wait()
	close(stop)
	wg.Wait()
	if runErr != nil {
		t.Fatalf("node resume-e2e.mjs: %v\nstdout: %s\nstderr: %s", runErr, stdout.String(), stderr.String())
	}
	if v := sendErr.Load(); v != nil {
		t.Error(v)
	}
	var got struct {
		States []struct {
			State   string
			Attempt int
			Code    int
			Reason  string
		}
		Got, Last  int
		Errs       []string
		QueueFull  int
		FinalState string
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatalf("resume-e2e.mjs printed %q: %v (stderr %s)", stdout.String(), err, stderr.String())
	}
	count := map[string]int{}
	for _, st := range got.States {
		count[st.State]++
	}
	mu.Lock()
	cGot, cLast, cErrs := fromClient.got, fromClient.last, fromClient.errs
	mu.Unlock()
	t.Logf("sessions=%v: %d cuts, states %v, %d opens, %d disconnects; server got %d (last c%d), client got %d (last s%d), %d sends refused while offline and full",
		sessions, p.Cuts(), count, opens.Load(), disconnects.Load(), cGot, cLast, got.Got, got.Last, got.QueueFull)
	if p.Cuts() < minCuts {
		t.Errorf("only %d cuts, want at least %d", p.Cuts(), minCuts)
	}
	if len(got.Errs) > 0 {
		t.Errorf("the client's stream: %v", got.Errs)
	}
	if len(cErrs) > 0 {
		t.Errorf("the server's stream: %v", cErrs)
	}
	if sessions {
		if got.Got != msgs || got.Last != msgs {
			t.Errorf("the client received %d messages (last s%d), want exactly %d", got.Got, got.Last, msgs)
		}
		if cGot != msgs || cLast != msgs {
			t.Errorf("the server received %d messages (last c%d), want exactly %d", cGot, cLast, msgs)
		}
		if count["resumed"] == 0 || count["new session"] != 0 || count["gave up"] != 0 {
			t.Errorf("states %v: want resumes only", count)
		}
		if opens.Load() != 1 {
			t.Errorf("%d OnConnections, want 1", opens.Load())
		}
		// The client's own close at the end is the one OnDisconnect.
		waitFor(t, ctx, "the OnDisconnect of the client's close", func() bool { return disconnects.Load() >= 1 })
		if n := disconnects.Load(); n != 1 {
			t.Errorf("%d OnDisconnects, want only the final one", n)
		}
		if r := lastReason.Load(); r == nil || !errors.Is(*r, engine.ErrPeerClosed) {
			t.Errorf("the final OnDisconnect: %v, want the client's close", r)
		}
		return
	}
	// Without sessions: each cut is an OnDisconnect, a new OnConnection
	// and a new session for the client.
	if count["new session"] < minCuts || count["resumed"] != 0 {
		t.Errorf("states %v: want %d+ new sessions and no resume", count, minCuts)
	}
	waitFor(t, ctx, "the last OnDisconnect", func() bool { return disconnects.Load() == opens.Load() })
	if int(opens.Load()) != count["new session"]+1 {
		t.Errorf("%d OnConnections for %d new sessions (+1 first)", opens.Load(), count["new session"])
	}
}

// stream checks numbered messages ("<prefix><n>"): in order, each once
// (gapsOK: some may be missing).
type stream struct {
	prefix    string
	gapsOK    bool
	got, last int
	errs      []string
}

func (s *stream) add(body string) {
	n, err := strconv.Atoi(strings.TrimPrefix(body, s.prefix))
	switch {
	case err != nil || !strings.HasPrefix(body, s.prefix):
		s.errs = append(s.errs, "bad message "+body)
	case n == s.last+1, s.gapsOK && n > s.last:
	default:
		if len(s.errs) < 10 {
			s.errs = append(s.errs, fmt.Sprintf("got %s%d after %s%d", s.prefix, n, s.prefix, s.last))
		}
	}
	s.last = max(s.last, n)
	s.got++
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s never came", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
