package examples_test

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// The examples serve clients of the original Python library unmodified.
// testdata/original_client.py stands in for one: it is written from the
// original's wire format alone.

// python starts the stand-in original client on scenario against port and
// returns its stdout, line by line. It skips the test where python3 cannot
// be had (.ci/run installs it).
func python(t *testing.T, scenario string, port int) *bufio.Scanner {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the original client cannot run here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "original_client.py"), scenario, "127.0.0.1", fmt.Sprint(port))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("python %s: %v\n%s", scenario, err, stderr.String())
		}
	})
	return bufio.NewScanner(stdout)
}

func expectLine(t *testing.T, lines *bufio.Scanner, want string) {
	t.Helper()
	if !lines.Scan() {
		t.Fatalf("python ended before printing %q: %v", want, lines.Err())
	}
	if got := lines.Text(); got != want {
		t.Fatalf("python printed %q, want %q", got, want)
	}
}

// The seed README's example: its original client against our handshake
// example's server.
func TestHandshakeExampleOriginalClient(t *testing.T) {
	port := startServer(t, "handshake", "-role", "server")
	lines := python(t, "handshake", port)
	expectLine(t, lines, "Server handshake received: example Hello from the server!")
}

func TestEchoExampleOriginalClient(t *testing.T) {
	port := startServer(t, "echo")
	lines := python(t, "echo", port)
	expectLine(t, lines, "echo ok")
}

// An original client and a Go client chat in one room.
func TestChatExampleOriginalClient(t *testing.T) {
	port := startServer(t, "chat")
	gopher := connect(t, port)
	lines := python(t, "chat", port)
	expectLine(t, lines, "joined")
	next := func() *proto.Message { // the next message not from the server
		for {
			if m := receive(t, gopher); m.HasHeader("from") {
				if from, _ := m.HeaderString("from"); from != "server" {
					return m
				}
			}
		}
	}
	m := next()
	if from, _ := m.HeaderString("from"); m.BodyString() != "hello from python" || !strings.HasPrefix(from, "127.0.0.1:") {
		t.Fatalf("Go client got %q from %q", m.Body(), from)
	}
	if err := gopher.Send(proto.NewMessage().SetBodyString("hi from go")); err != nil {
		t.Fatal(err)
	}
	// The original decoder keeps a header value up to its first ':'.
	expectLine(t, lines, "from=127.0.0.1 body=hi from go")
	if m := next(); m.BodyString() != "bye from python" {
		t.Fatalf("Go client got %q", m.Body())
	}
	expectLine(t, lines, "chat ok")
}
