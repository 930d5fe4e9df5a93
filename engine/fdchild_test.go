package engine

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// fdChildEnv, when set, makes the test binary run fdChild instead of the
// tests: TestFDExhaustion starts it as the server's process, so that the
// server can get a tiny RLIMIT_NOFILE without the tests' own process
// getting one.
const fdChildEnv = "SIMPLESERVER_FDTEST_CHILD"

// fdChild runs an echo server under the RLIMIT_NOFILE given in spec
// ("soft=128 hard=256 max=0 ballast=0"; max is MaxConnections, ballast a
// number of /dev/null files held open, as an application's own fds). It
// prints "READY addr=... max=... nofile=..." once listening, answers
// "stats" lines on stdin with a STATS line, and stops gracefully at EOF.
// Logs go to stderr at the default level (warnings and errors).
func fdChild(spec string) int {
	kv := map[string]int{}
	for _, f := range strings.Fields(spec) {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad spec %q\n", spec)
			return 2
		}
		kv[k] = n
	}
	lim := syscall.Rlimit{Cur: uint64(kv["soft"]), Max: uint64(kv["hard"])}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := NewServer("127.0.0.1", 0, WithEventLoops(2), WithLogger(log), func(c *Config) {
		c.MaxConnections = kv["max"]
		c.PingInterval = -1
	})
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	if err := s.StartAsync(); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 2
	}
	var ballast []*os.File
	for range kv["ballast"] {
		f, err := os.Open(os.DevNull)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ballast:", err)
			return 2
		}
		ballast = append(ballast, f)
	}
	var now syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	fmt.Printf("READY addr=%s max=%d nofile=%d\n", s.Addr(), s.Config().MaxConnections, now.Cur)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "stats" {
			st := s.Stats()
			fmt.Printf("STATS goroutines=%d clients=%d accepted=%d failures=%d dropped=%d\n", runtime.NumGoroutine(),
				st.Connections, s.acc.accepted.Load(), st.AcceptFailures, st.AcceptDropped)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		return 1
	}
	for _, f := range ballast {
		f.Close()
	}
	return 0
}
