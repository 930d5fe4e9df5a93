package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/proto"
)

// connect returns a client package Client connected to s.
func connect(t testing.TB, s *Server) *client.Client {
	t.Helper()
	a := s.Addr().(*net.TCPAddr)
	c := client.New()
	if err := c.Connect(a.IP.String(), a.Port); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t testing.TB, c *client.Client) *proto.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

// waitFor polls cond until it holds or 10 s pass; for conditions no event signals.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSeedExample is the seed README's Example section: a handshake.
func TestSeedExample(t *testing.T) {
	s := startServer(t, WithTickRate(120))
	got := make(chan string, 1)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if m.HasHeader("handshake") {
			resp := proto.NewMessage().AddHeader("handshake", "example").SetBodyString("Hello from the server!")
			if err := c.Send(resp); err != nil {
				t.Errorf("send: %v", err)
			}
		}
		got <- m.BodyString()
	})
	run(t, s)
	c := connect(t, s)
	if err := c.Send(proto.NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!")); err != nil {
		t.Fatal(err)
	}
	m := receive(t, c)
	if v, ok := m.HeaderString("handshake"); !ok || v != "example" || m.BodyString() != "Hello from the server!" {
		t.Fatalf("response: header %q %v body %q", v, ok, m.BodyString())
	}
	if b := <-got; b != "Hello server!" {
		t.Fatalf("server got body %q", b)
	}
}

// TestEvents checks OnConnection, OnDisconnect (reason and exactly once),
// the client's address and ID, and Clients().
func TestEvents(t *testing.T) {
	s := startServer(t)
	type ev struct {
		kind string
		id   uint64
		n    int // Clients() inside the listener
		err  error
	}
	evs := make(chan ev, 16)
	s.OnConnection.AddListener(func(c *Client) {
		if c.RemoteAddr() == nil || c.ID() == 0 {
			t.Errorf("client without address or id: %v", c)
		}
		evs <- ev{"open", c.ID(), len(s.Clients()), nil}
	})
	s.OnDisconnect.AddListener(func(c *Client, reason error) {
		evs <- ev{"close", c.ID(), len(s.Clients()), reason}
	})
	run(t, s)
	c1 := connect(t, s)
	e := <-evs
	if e.kind != "open" || e.n != 1 {
		t.Fatalf("first event %+v", e)
	}
	c2 := dial(t, s)
	e2 := <-evs
	if e2.kind != "open" || e2.n != 2 || e2.id == e.id {
		t.Fatalf("second event %+v", e2)
	}
	c1.CloseWithReason("bye now")
	e = <-evs
	var pce *PeerCloseError
	if e.kind != "close" || e.n != 1 || !errors.As(e.err, &pce) || pce.Reason != "bye now" || !errors.Is(e.err, ErrPeerClosed) {
		t.Fatalf("close event %+v", e)
	}
	c2.Close()
	e = <-evs
	if e.kind != "close" || e.n != 0 || !errors.Is(e.err, ErrPeerGone) {
		t.Fatalf("close event %+v", e)
	}
	select {
	case e := <-evs:
		t.Fatalf("extra event %+v", e)
	default:
	}
}

// TestOrderingManyClients: 100 concurrent clients each send 200 numbered
// messages; every client's messages arrive in order, between its
// OnConnection and its single OnDisconnect.
func TestOrderingManyClients(t *testing.T) {
	const clients, msgs = 100, 200
	s := startServer(t)
	var mu sync.Mutex
	state := map[uint64]int{} // -1 after disconnect
	bad := []string{}
	done := make(chan struct{}, clients)
	s.OnConnection.AddListener(func(c *Client) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := state[c.ID()]; ok {
			bad = append(bad, "second OnConnection")
		}
		state[c.ID()] = 0
	})
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		mu.Lock()
		defer mu.Unlock()
		n, _ := strconv.Atoi(m.BodyString())
		if state[c.ID()] != n {
			bad = append(bad, fmt.Sprintf("client %d: got %d want %d", c.ID(), n, state[c.ID()]))
		}
		state[c.ID()] = n + 1
	})
	s.OnDisconnect.AddListener(func(c *Client, _ error) {
		mu.Lock()
		defer mu.Unlock()
		if state[c.ID()] != msgs {
			bad = append(bad, fmt.Sprintf("client %d: disconnect after %d messages", c.ID(), state[c.ID()]))
		}
		state[c.ID()] = -1
		done <- struct{}{}
	})
	run(t, s)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, s)
			var b []byte
			for j := 0; j < msgs; j++ {
				b, _ = proto.AppendFrame(b, proto.NewMessage().SetBodyString(strconv.Itoa(j)))
				if j%17 == 0 { // mix small and coalesced writes
					c.write(b)
					b = b[:0]
				}
			}
			c.write(b)
			c.write(proto.AppendClose(nil, "done"))
		}()
	}
	wg.Wait()
	for i := 0; i < clients; i++ {
		<-done
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d ordering errors, first: %v", len(bad), bad[0])
	}
	if len(state) != clients {
		t.Fatalf("%d clients seen, want %d", len(state), clients)
	}
}

// TestBroadcastExclusions: Broadcast reaches exactly the non-excluded
// clients, MessageClients exactly the targets.
func TestBroadcastExclusions(t *testing.T) {
	const n = 6
	s := startServer(t)
	ids := make(chan *Client, n)
	s.OnConnection.AddListener(func(c *Client) { ids <- c })
	run(t, s)
	conns := make([]*rawConn, n)
	byID := map[uint64]int{}
	for i := range conns {
		conns[i] = dial(t, s)
		c := <-ids
		byID[c.ID()] = i
		c.Data = i
	}
	clients := s.Clients()
	sort.Slice(clients, func(a, b int) bool { return clients[a].Data.(int) < clients[b].Data.(int) })
	if len(clients) != n {
		t.Fatalf("Clients() = %d", len(clients))
	}
	if err := s.Broadcast(proto.NewMessage().SetBodyString("all-but-1-4"), clients[1], clients[4]); err != nil {
		t.Fatal(err)
	}
	if err := s.MessageClients([]*Client{clients[1], clients[2]}, proto.NewMessage().SetBodyString("to-1-2")); err != nil {
		t.Fatal(err)
	}
	pm, err := NewPreparedMessage(proto.NewMessage().SetBodyString("prepared"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BroadcastPrepared(pm, clients[0]); err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{
		0: {"all-but-1-4"},
		1: {"to-1-2", "prepared"},
		2: {"all-but-1-4", "to-1-2", "prepared"},
		3: {"all-but-1-4", "prepared"},
		4: {"prepared"},
		5: {"all-but-1-4", "prepared"},
	}
	for i, c := range conns {
		var got []string
		for range want[i] {
			got = append(got, c.readMessage().BodyString())
		}
		if fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("client %d got %v want %v", i, got, want[i])
		}
		// Nothing more: a PING round trip proves the queue is empty.
		c.write(proto.AppendPing(nil, []byte("end")))
		if k, _, rest, err := c.readFrame(); err != nil || k != proto.KindPong || string(rest) != "end" {
			t.Errorf("client %d: after expected messages got kind %v %q %v", i, k, rest, err)
		}
	}
}

// TestListenersAddRemove: several listeners run in the order added; a
// removed one no longer runs.
func TestListenersAddRemove(t *testing.T) {
	s := startServer(t)
	var mu sync.Mutex
	var calls []string
	rec := func(name string) func(*Client, *proto.Message) {
		return func(*Client, *proto.Message) { mu.Lock(); calls = append(calls, name); mu.Unlock() }
	}
	s.OnMessage.AddListener(rec("a"))
	idB := s.OnMessage.AddListener(rec("b"))
	s.OnMessage.AddListener(rec("c"))
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(t, s)
	c := dial(t, s)
	c.send(proto.NewMessage().SetBodyString("1"))
	c.readMessage()
	if !s.OnMessage.RemoveListener(idB) || s.OnMessage.RemoveListener(idB) {
		t.Fatal("RemoveListener: want true then false")
	}
	c.send(proto.NewMessage().SetBodyString("2"))
	c.readMessage()
	mu.Lock()
	defer mu.Unlock()
	if got := fmt.Sprint(calls); got != "[a b c a c]" {
		t.Fatalf("calls %s", got)
	}
	if s.OnMessage.Len() != 3 {
		t.Fatalf("Len %d", s.OnMessage.Len())
	}
}

// TestManualUpdate: nothing is dispatched until Update, which dispatches on
// the caller's goroutine and then fires OnUpdate once.
func TestManualUpdate(t *testing.T) {
	s := startServer(t, WithManualUpdate(true))
	var order []string // touched only by Update's goroutine
	s.OnConnection.AddListener(func(*Client) { order = append(order, "open") })
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		order = append(order, "msg:"+m.BodyString())
		_ = c.Send(m)
	})
	s.OnUpdate.AddListener(func() { order = append(order, "update") })
	if err := s.Update(); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Update before start: %v", err)
	}
	run(t, s)
	c := dial(t, s)
	c.send(proto.NewMessage().SetBodyString("x"))
	// The message is decoded by the loop but waits for Update: a PING round
	// trip (answered by the loop) proves the server has read it.
	c.write(proto.AppendPing(nil, nil))
	if k, _, _, err := c.readFrame(); err != nil || k != proto.KindPong {
		t.Fatalf("want PONG, got %v %v", k, err)
	}
	if len(order) != 0 {
		t.Fatalf("dispatched without Update: %v", order)
	}
	waitFor(t, "queued events", func() bool {
		s.queue.mu.Lock()
		defer s.queue.mu.Unlock()
		return len(s.queue.items) == 2
	})
	if err := s.Update(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(order); got != "[open msg:x update]" {
		t.Fatalf("order %s", got)
	}
	if m := c.readMessage(); m.BodyString() != "x" {
		t.Fatalf("echo %q", m.BodyString())
	}
	if err := NewServer("", 0).Update(); !errors.Is(err, ErrNotManual) {
		t.Fatalf("Update on automatic server: %v", err)
	}
}

// TestTickRate counts OnUpdate calls over one second: a rate check with a
// wide tolerance, not a speed assertion.
func TestTickRate(t *testing.T) {
	s := startServer(t, WithTickRate(60))
	var mu sync.Mutex
	n := 0
	s.OnUpdate.AddListener(func() { mu.Lock(); n++; mu.Unlock() })
	run(t, s)
	mu.Lock()
	start := n
	mu.Unlock()
	time.Sleep(time.Second) // the measured interval itself
	mu.Lock()
	got := n - start
	mu.Unlock()
	if got < 40 || got > 70 {
		t.Fatalf("%d OnUpdate calls in 1 s at 60 Hz", got)
	}
}

// TestProtocolErrorClosesOnlyThatClient: a malformed frame gets CLOSE with
// the reason; OnDisconnect gets a ProtocolError; another client is fine.
func TestProtocolErrorClosesOnlyThatClient(t *testing.T) {
	s := startServer(t)
	reasons := make(chan error, 2)
	s.OnDisconnect.AddListener(func(_ *Client, r error) { reasons <- r })
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(t, s)
	good := dial(t, s)
	bad := dial(t, s)
	bad.write([]byte{0, 0, 0, 2, 0x07, 0}) // unknown kind
	if r := bad.readClose(); r == "" {
		t.Fatal("empty CLOSE reason")
	}
	r := <-reasons
	var pe *proto.ProtocolError
	if !errors.As(r, &pe) || !errors.Is(r, proto.ErrUnknownKind) {
		t.Fatalf("reason %v", r)
	}
	good.send(proto.NewMessage().SetBodyString("still here"))
	if m := good.readMessage(); m.BodyString() != "still here" {
		t.Fatalf("good client got %q", m.BodyString())
	}
}

// TestSplitAndCoalescedFrames: frames split byte by byte, and many frames
// in one write, all decode.
func TestSplitAndCoalescedFrames(t *testing.T) {
	s := startServer(t)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(t, s)
	c := dial(t, s)
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().AddHeader("h", "v").SetBodyString("split"))
	for _, b := range frame {
		c.write([]byte{b})
	}
	if m := c.readMessage(); m.BodyString() != "split" {
		t.Fatalf("split frame: %q", m.BodyString())
	}
	var many []byte
	for i := 0; i < 500; i++ {
		many, _ = proto.AppendFrame(many, proto.NewMessage().SetBodyString(strconv.Itoa(i)))
	}
	c.write(many)
	for i := 0; i < 500; i++ {
		if m := c.readMessage(); m.BodyString() != strconv.Itoa(i) {
			t.Fatalf("coalesced frame %d: %q", i, m.BodyString())
		}
	}
}

// TestClientFeatures: raw bytes arrive headerless, Read is non-blocking,
// sends after the client left fail with ErrClientClosed.
func TestClientFeatures(t *testing.T) {
	s := startServer(t)
	got := make(chan *proto.Message, 1)
	gone := make(chan *Client, 1)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		got <- m.Clone()
		_ = c.Send(proto.NewMessage().SetBodyString("pong"))
	})
	s.OnDisconnect.AddListener(func(c *Client, _ error) { gone <- c })
	run(t, s)
	c := connect(t, s)
	if m := c.Read(); m != nil {
		t.Fatalf("Read with nothing pending returned %v", m)
	}
	if err := c.SendRaw([]byte("raw bytes")); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if m.NumHeaders() != 0 || m.BodyString() != "raw bytes" {
		t.Fatalf("raw: %d headers, body %q", m.NumHeaders(), m.BodyString())
	}
	var r *proto.Message
	waitFor(t, "non-blocking Read to return the reply", func() bool { r = c.Read(); return r != nil })
	if r.BodyString() != "pong" {
		t.Fatalf("Read got %q", r.BodyString())
	}
	c.Close()
	sc := <-gone
	if err := sc.Send(proto.NewMessage()); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Send after disconnect: %v", err)
	}
	if err := sc.Close("again"); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Close after disconnect: %v", err)
	}
}

// TestKick: Client.Close sends CLOSE with the reason after queued frames.
func TestKick(t *testing.T) {
	s := startServer(t)
	reasons := make(chan error, 1)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		_ = c.Send(m)
		_ = c.Close("kicked for testing")
	})
	s.OnDisconnect.AddListener(func(_ *Client, r error) { reasons <- r })
	run(t, s)
	c := dial(t, s)
	c.send(proto.NewMessage().SetBodyString("last words"))
	if m := c.readMessage(); m.BodyString() != "last words" {
		t.Fatalf("queued frame %q", m.BodyString())
	}
	if r := c.readClose(); r != "kicked for testing" {
		t.Fatalf("CLOSE reason %q", r)
	}
	var ke *KickError
	if r := <-reasons; !errors.As(r, &ke) || ke.Reason != "kicked for testing" || !errors.Is(r, ErrKicked) {
		t.Fatalf("reason %v", r)
	}
}

// TestBindFailure: a port in use is an error from StartAsync, not a hang.
func TestBindFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s := NewServer("127.0.0.1", port)
	if err := s.StartAsync(); err == nil {
		s.Stop(context.Background())
		t.Fatal("StartAsync on a used port succeeded")
	}
	if err := s.Start(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second start: %v", err)
	}
	if err := NewServer("127.0.0.1", 70000).StartAsync(); err == nil {
		t.Fatal("invalid port accepted")
	}
}

// TestStartBlocksUntilStop: Start blocks, Stop makes it return nil, and a
// stopped server cannot start again.
func TestStartBlocksUntilStop(t *testing.T) {
	s := NewServer("127.0.0.1", 0, WithEventLoops(1))
	started := make(chan struct{})
	s.OnConnection.AddListener(func(*Client) { close(started) })
	res := make(chan error, 1)
	go func() { res <- s.Start() }()
	waitFor(t, "listening", func() bool { return s.Addr() != nil })
	c := dial(t, s)
	<-started
	select {
	case err := <-res:
		t.Fatalf("Start returned early: %v", err)
	default:
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("Start returned %v", err)
	}
	if r := c.readClose(); r != ErrServerShutdown.Error() {
		t.Fatalf("CLOSE reason %q", r)
	}
	if err := s.StartAsync(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("restart: %v", err)
	}
}

// TestInlineMode: listeners run on the loops; echo and broadcast work.
func TestInlineMode(t *testing.T) {
	s := startServer(t, WithInline(true))
	opened := make(chan struct{}, 4)
	s.OnConnection.AddListener(func(*Client) { opened <- struct{}{} })
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if m.HasHeader("bcast") {
			_ = s.Broadcast(m, c)
			return
		}
		_ = c.Send(m)
	})
	run(t, s)
	a, b := dial(t, s), dial(t, s)
	<-opened
	<-opened
	a.send(proto.NewMessage().SetBodyString("echo"))
	if m := a.readMessage(); m.BodyString() != "echo" {
		t.Fatalf("echo %q", m.BodyString())
	}
	a.send(proto.NewMessage().AddHeader("bcast", "").SetBodyString("to b"))
	if m := b.readMessage(); m.BodyString() != "to b" {
		t.Fatalf("bcast %q", m.BodyString())
	}
	// Many broadcasts in one read are deferred to the loops' flush scopes
	// and must still arrive whole and in order.
	var burst []byte
	for i := 0; i < 200; i++ {
		burst, _ = proto.AppendFrame(burst, proto.NewMessage().AddHeader("bcast", "").SetBodyString(strconv.Itoa(i)))
	}
	a.write(burst)
	for i := 0; i < 200; i++ {
		if m := b.readMessage(); m.BodyString() != strconv.Itoa(i) {
			t.Fatalf("burst broadcast %d arrived as %q", i, m.BodyString())
		}
	}
}
