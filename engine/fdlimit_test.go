package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// TestFDExhaustion (issue 14): a server whose fd table fills up keeps
// running. The server runs in a child process (fdChild) with
// RLIMIT_NOFILE soft 128, hard 256 (it raises the soft limit itself); the
// test opens more connections than that. Throughout: the port keeps
// listening, clients connected before keep echoing, the child's CPU time
// stays low (no accept spin) and so does its goroutine count, the log has a
// bounded number of accept lines; after the test closes half its
// connections, a fresh client connects and echoes within 2 s; at the end
// Stop is still graceful.
//
// The engine has no ReusePort option, so there is no per-loop listener to
// test.
func TestFDExhaustion(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to sample the server's CPU time")
	}
	const nofile = 256
	cases := []struct {
		name     string
		max      int  // Config.MaxConnections
		wantMax  int  // the effective value the child reports
		exhausts bool // the connections fill the fd table (EMFILE)
	}{
		// The default 50,000 is clamped to 256 - (16 + 2*2 + 64 + 64): the
		// clients can no longer fill the table; the rest get "server full".
		{"above the limit", 0, nofile - (serverFDs + 2*fdsPerLoop + 2*maxHandoffs + maxHeldRefusals + DefaultReservedFDs), false},
		{"below the limit", 50, 50, false},
		// No cap at all: the table fills, accept fails with EMFILE.
		{"no cap", -1, -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testFDExhaustion(t, fmt.Sprintf("soft=128 hard=%d max=%d", nofile, tc.max), nofile, tc.wantMax, tc.exhausts)
		})
	}
}

const (
	fdAnchors = 4   // connected before the flood; must keep echoing
	fdFlood   = 300 // more than RLIMIT_NOFILE
)

func testFDExhaustion(t *testing.T, spec string, nofile, wantMax int, exhausts bool) {
	raiseOwnNoFile(t, fdAnchors+fdFlood+64)
	ch := startFDChild(t, spec)
	if ch.nofile != nofile {
		t.Errorf("child's RLIMIT_NOFILE is %d, want %d (the soft limit raised to the hard one)", ch.nofile, nofile)
	}
	if ch.max != wantMax {
		t.Errorf("effective MaxConnections %d, want %d", ch.max, wantMax)
	}

	anchors := make([]*echoConn, fdAnchors)
	for i := range anchors {
		anchors[i] = dialEcho(t, ch.addr)
		anchors[i].echo(t, 10*time.Second)
	}

	flood := make([]net.Conn, 0, fdFlood)
	closeFlood := func(cs []net.Conn) {
		for _, c := range cs {
			c.Close()
		}
	}
	defer func() { closeFlood(flood) }()
	for i := 0; i < fdFlood; i++ {
		c, err := net.DialTimeout("tcp", ch.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("flood dial %d: %v (the server stopped listening?)", i, err)
		}
		flood = append(flood, c)
	}
	// The server has dealt with the flood: it has accepted every socket
	// (refusing those over the cap), or accepting has failed (EMFILE).
	ch.waitStats(t, 20*time.Second, func(st fdStats) bool {
		if exhausts {
			return st.failures > 0
		}
		return st.accepted >= fdAnchors+fdFlood
	})

	// Exhausted (or full), the server keeps serving its clients and does
	// not spin: sample its CPU time over a window of echo rounds.
	cpu0, t0 := ch.cpu(t), time.Now()
	for time.Since(t0) < 1500*time.Millisecond {
		for _, a := range anchors {
			a.echo(t, 5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	window := time.Since(t0)
	if used := ch.cpu(t) - cpu0; used > window*4/10 {
		t.Errorf("server used %v of CPU in %v while the fd table was full: accept is spinning", used, window)
	}
	if c, err := net.DialTimeout("tcp", ch.addr, 5*time.Second); err != nil {
		t.Errorf("the server stopped listening: %v", err)
	} else {
		flood = append(flood, c)
	}
	st := ch.stats(t)
	if st.goroutines > 150 {
		t.Errorf("%d goroutines in the server", st.goroutines)
	}
	// Only sockets already being handed over when the table filled may be
	// dropped; the rest of the flood waits in the backlog.
	if st.dropped > maxHandoffs {
		t.Errorf("%d accepted connections dropped (at most %d in flight when the table filled)", st.dropped, maxHandoffs)
	}

	// Half the connections go; a fresh client gets in within 2 s (retrying
	// if it lands before the server has seen the others leave).
	half := len(flood) / 2
	closeFlood(flood[:half])
	flood = flood[half:]
	start := time.Now()
	for {
		err := tryEcho(ch.addr, start.Add(2*time.Second))
		if err == nil {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("no fresh client within 2 s after closing half the connections: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("fresh client echoed %v after closing %d connections; server stats %+v", time.Since(start).Round(time.Millisecond), half, st)
	for _, a := range anchors {
		a.echo(t, 5*time.Second)
	}

	closeFlood(flood)
	flood = nil
	for _, a := range anchors {
		a.Close()
	}
	code := ch.stop(t)
	log := ch.stderr.String()
	if code != 0 {
		t.Errorf("child exited with %d; its log:\n%s", code, log)
	}
	count := func(msg string) int { return strings.Count(log, `msg="simpleserver: `+msg) }
	failed, resumed, dropped := count("accept failed"), count("accepting new connections again"), count("accepted connection dropped")
	refused := count("connection refused")
	t.Logf("log lines: %d accept failed, %d resumed, %d dropped at hand-off, %d refused", failed, resumed, dropped, refused)
	if exhausts && failed == 0 {
		t.Errorf("the fd table never filled (no accept failure logged): the test tests nothing; log:\n%s", log)
	}
	if !exhausts && failed+dropped != 0 {
		t.Errorf("accept failed with MaxConnections %d clamped below the fd limit; log:\n%s", wantMax, log)
	}
	// One line per logEvery for each kind; the test runs a few seconds.
	if failed > 2 || resumed > 2 || dropped > 2 || refused > 2 {
		t.Errorf("log storm: %d accept failed, %d resumed, %d dropped, %d refused lines; log:\n%s", failed, resumed, dropped, refused, log)
	}
	if strings.Contains(log, "engine stopped unexpectedly") {
		t.Errorf("the engine stopped; log:\n%s", log)
	}
}

// raiseOwnNoFile makes sure the test process can open n fds.
func raiseOwnNoFile(t *testing.T, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("the test needs %d fds; the hard RLIMIT_NOFILE is %d", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
}

// fdProc is the server's child process.
type fdProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // its stdout
	stderr *lockedBuffer
	addr   string
	max    int
	nofile int
	done   chan struct{}
}

type fdStats struct{ goroutines, clients, accepted, failures, dropped int }

func startFDChild(t *testing.T, spec string) *fdProc {
	t.Helper()
	p := &fdProc{lines: make(chan string, 16), stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), fdChildEnv+"="+spec)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill() // our own child, by its handle
			p.cmd.Wait()
		}
	})
	line := p.next(t, 60*time.Second)
	if _, err := fmt.Sscanf(line, "READY addr=%s max=%d nofile=%d", &p.addr, &p.max, &p.nofile); err != nil {
		t.Fatalf("child said %q: %v; its log:\n%s", line, err, p.stderr.String())
	}
	return p
}

func (p *fdProc) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("child exited; its log:\n%s", p.stderr.String())
		}
		return l
	case <-time.After(d):
		t.Fatalf("child silent for %v; its log:\n%s", d, p.stderr.String())
	}
	return ""
}

func (p *fdProc) stats(t *testing.T) fdStats {
	t.Helper()
	if _, err := io.WriteString(p.stdin, "stats\n"); err != nil {
		t.Fatal(err)
	}
	var st fdStats
	line := p.next(t, 10*time.Second)
	if _, err := fmt.Sscanf(line, "STATS goroutines=%d clients=%d accepted=%d failures=%d dropped=%d",
		&st.goroutines, &st.clients, &st.accepted, &st.failures, &st.dropped); err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	return st
}

// waitStats polls the child's counters until cond holds.
func (p *fdProc) waitStats(t *testing.T, d time.Duration, cond func(fdStats) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := p.stats(t)
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server stats %+v after %v; its log:\n%s", st, d, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpu returns the child's user+system CPU time from /proc/PID/stat.
func (p *fdProc) cpu(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime and stime fields 14 and 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// stop closes the child's stdin (it then stops its server) and returns its
// exit code.
func (p *fdProc) stop(t *testing.T) int {
	t.Helper()
	p.stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		close(p.done)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not stop within 30 s; its log:\n%s", p.stderr.String())
	}
	return -1
}

// lockedBuffer is a bytes.Buffer safe for the exec copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// echoConn is a client of the child's echo server.
type echoConn struct {
	net.Conn
	r   *bufio.Reader
	seq int
}

func dialEcho(t *testing.T, addr string) *echoConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &echoConn{Conn: c, r: bufio.NewReader(c)}
}

// echo sends a MESSAGE and waits for it to come back.
func (c *echoConn) echo(t *testing.T, d time.Duration) {
	t.Helper()
	c.seq++
	if err := echoOnce(c.Conn, c.r, c.seq, time.Now().Add(d)); err != nil {
		t.Fatalf("client %v: %v", c.LocalAddr(), err)
	}
}

// tryEcho connects a fresh client and echoes one MESSAGE by deadline.
func tryEcho(addr string, deadline time.Time) error {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	return echoOnce(c, bufio.NewReader(c), 1, deadline)
}

func echoOnce(c net.Conn, r *bufio.Reader, seq int, deadline time.Time) error {
	frame, err := proto.AppendFrame(nil, proto.NewMessage().AddHeader("seq", strconv.Itoa(seq)).SetBodyString("echo"))
	if err != nil {
		return err
	}
	c.SetDeadline(deadline)
	if _, err := c.Write(frame); err != nil {
		return err
	}
	got := make([]byte, len(frame))
	if _, err := io.ReadFull(r, got); err != nil {
		return fmt.Errorf("no echo: %w", err)
	}
	if !bytes.Equal(got, frame) {
		k, rest := proto.Kind(0), got
		if len(got) > proto.LengthSize {
			k, rest = proto.Kind(got[proto.LengthSize]), got[proto.LengthSize+1:]
		}
		return fmt.Errorf("got %v %q instead of the echo", k, rest)
	}
	return nil
}
