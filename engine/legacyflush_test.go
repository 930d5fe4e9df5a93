package engine

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// writeLog records the writes of legacy clients' bytes.
type writeLog struct {
	mu      sync.Mutex
	writes  [][]byte
	viaGnet int // how many went through gnet: the socket was full
}

func recordLegacyWrites(t *testing.T) *writeLog {
	w := &writeLog{}
	legacyWriteHook = func(_ *Client, b []byte, viaGnet bool) {
		w.mu.Lock()
		if viaGnet {
			w.viaGnet++
		}
		w.writes = append(w.writes, bytes.Clone(b))
		w.mu.Unlock()
	}
	t.Cleanup(func() { legacyWriteHook = nil })
	return w
}

// check fails unless the writes are msgs, in order, and no write holds
// bytes of two messages. A message may leave in pieces (the kernel took
// part of it), but never joined to the next.
func (w *writeLog) check(t *testing.T, msgs []string) {
	t.Helper()
	want := strings.Join(msgs, "")
	written := func() []byte {
		var all []byte
		for _, b := range w.writes {
			all = append(all, b...)
		}
		return all
	}
	// The hook records a write once it returned; the client may have read
	// it before.
	hzWaitFor(t, 10*time.Second, "the last writes to be recorded", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(written()) >= len(want)
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	if all := written(); string(all) != want {
		t.Fatalf("%d bytes written, want %d; in order: %v", len(all), len(want), strings.HasPrefix(want, string(all)))
	}
	ends := make(map[int]bool, len(msgs))
	pos := 0
	for _, m := range msgs {
		pos += len(m)
		ends[pos] = true
	}
	pos = 0
	for i, b := range w.writes {
		for k := pos + 1; k < pos+len(b); k++ {
			if ends[k] {
				t.Fatalf("write %d (%d bytes at %d) joins two messages", i, len(b), pos)
			}
		}
		pos += len(b)
	}
}

// Everything listeners send to a legacy client in one dispatch leaves in
// one write per message (a v1 client gets it in one write).
func TestLegacyOneWritePerMessage(t *testing.T) {
	w := recordLegacyWrites(t)
	s := legacyServer(t)
	const n = 20
	var want []string
	for i := range n {
		want = append(want, "$i:"+strconv.Itoa(i)+"|%"+strings.Repeat("m", i))
	}
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		for i := range n {
			_ = c.Send(proto.NewMessage().AddHeader("i", strconv.Itoa(i)).SetBodyString(strings.Repeat("m", i)))
		}
		_ = c.Send(proto.NewMessage().SetBodyString("end"))
	})
	run(t, s)
	lc := dialLegacy(t, s)
	lc.send("go")
	var got strings.Builder
	for !strings.HasSuffix(got.String(), "$%end") {
		got.WriteString(lc.recv())
	}
	w.check(t, append(want, "$%end"))
	if len(w.writes) != n+1 {
		t.Fatalf("%d writes for %d messages", len(w.writes), n+1)
	}
}

// A legacy client a full socket buffer behind still gets every message,
// in order, and never two in one write; broadcasts to it too.
func TestLegacyBacklog(t *testing.T) {
	w := recordLegacyWrites(t)
	s := legacyServer(t) // the lane poller resumes the queue as the socket drains
	const n = 600
	body := strings.Repeat("b", 900)
	var want []string
	for i := range n {
		want = append(want, "$i:"+strconv.Itoa(i)+"|%"+body)
	}
	s.OnConnection.AddListener(func(c *Client) {
		// A small send buffer (no autotuning) makes the socket fill up.
		if err := syscall.SetsockoptInt(int(c.fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096); err != nil {
			t.Error(err)
		}
	})
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		out := proto.NewMessage()
		for i := range n {
			out.Reset()
			out.AddHeader("i", strconv.Itoa(i)).SetBodyString(body)
			var err error
			if i%2 == 0 {
				err = c.Send(out)
			} else {
				err = s.Broadcast(out)
			}
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	})
	run(t, s)
	rc := hzDial(t, s, 4096)
	rc.write([]byte("go"))
	total := len(strings.Join(want, ""))
	got := make([]byte, 0, total)
	buf := make([]byte, 64<<10)
	time.Sleep(50 * time.Millisecond) // not a synchronisation: let the queue back up first
	for len(got) < total {
		rc.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := rc.Conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), total, err)
		}
		got = append(got, buf[:k]...)
	}
	if string(got) != strings.Join(want, "") {
		t.Fatal("received bytes differ from the messages sent")
	}
	w.check(t, want)
	if w.viaGnet == 0 {
		t.Fatal("the socket never filled up: the test proves nothing")
	}
	t.Logf("%d writes for %d messages, %d through gnet", len(w.writes), n, w.viaGnet)
}
