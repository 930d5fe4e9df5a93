// Package examples_test builds the example programs and drives them over
// loopback, so the commands the README gives keep working.
package examples_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/proto"
)

// build compiles ./NAME into a temporary directory.
func build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./%s: %v\n%s", name, err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer runs an example server (with more flags if given) and waits
// until it accepts connections.
func startServer(t *testing.T, name string, flags ...string) int {
	t.Helper()
	bin := build(t, name)
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port)}, flags...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The server logs "listening" once StartAsync has returned.
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "listening") {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return port
		}
	}
	t.Fatalf("%s exited before listening", name)
	return 0
}

func connect(t *testing.T, port int) *simpleserver.SimpleClient {
	t.Helper()
	c := simpleserver.NewClient()
	if err := c.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *simpleserver.SimpleClient) *proto.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

func TestEchoExample(t *testing.T) {
	port := startServer(t, "echo")
	c := connect(t, port)
	m := proto.NewMessage().AddHeader("b", "2").AddHeader("a", "1").AddHeader("b", "").SetBodyString("hi")
	if err := c.Send(m); err != nil {
		t.Fatal(err)
	}
	got := receive(t, c)
	want, _ := proto.AppendFrame(nil, m)
	have, _ := proto.AppendFrame(nil, got)
	if string(want) != string(have) {
		t.Fatalf("echo differs:\nwant % x\nhave % x", want, have)
	}
}

func TestChatExample(t *testing.T) {
	port := startServer(t, "chat")
	servesModules(t, port) // the page's, before anyone is in the room
	alice := connect(t, port)
	bob := connect(t, port)
	// Whichever of the two the server registered first hears that the
	// other joined (their connections may be set up on different event
	// loops, so the order is not fixed). After that both are in the room.
	deadline := time.Now().Add(10 * time.Second)
	for joined := false; !joined; {
		for _, c := range []*simpleserver.SimpleClient{alice, bob} {
			if m := c.Read(); m != nil {
				if !strings.Contains(m.BodyString(), "joined") {
					t.Fatalf("first message %q, want a join notice", m.BodyString())
				}
				joined = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no join notice")
		}
		time.Sleep(time.Millisecond)
	}
	if err := alice.Send(proto.NewMessage().SetBodyString("hello bob")); err != nil {
		t.Fatal(err)
	}
	m := receive(t, bob)
	if from, _ := m.HeaderString("from"); m.BodyString() != "hello bob" || from == "" || from == "server" {
		t.Fatalf("bob got %q from %q", m.BodyString(), from)
	}
	// The sender gets nothing back: Bob's reply is the next thing Alice sees.
	if err := bob.Send(proto.NewMessage().SetBodyString("hi alice")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, alice); m.BodyString() != "hi alice" {
		t.Fatalf("alice got %q, want bob's reply (not her own message)", m.BodyString())
	}
}

func TestChatClientExample(t *testing.T) {
	port := startServer(t, "chat")
	// other joins first, so it hears the chat-client join.
	other := connect(t, port)
	bin := build(t, "chat-client")
	cmd := exec.Command(bin, "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.Contains(lines.Text(), "connected") {
		t.Fatalf("chat-client did not connect: %q", lines.Text())
	}
	if m := receive(t, other); !strings.Contains(m.BodyString(), "joined") {
		t.Fatalf("other got %q, want the join notice", m.BodyString())
	}
	if err := other.Send(proto.NewMessage().SetBodyString("ping from other")); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() || !strings.Contains(lines.Text(), "ping from other") {
		t.Fatalf("chat-client printed %q", lines.Text())
	}
	fmt.Fprintln(stdin, "typed line")
	if m := receive(t, other); m.BodyString() != "typed line" {
		t.Fatalf("other got %q", m.BodyString())
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chat-client did not exit at end of input")
	}
}

func TestHandshakeExample(t *testing.T) {
	bin := build(t, "handshake")
	out, err := exec.Command(bin, "-addr", "127.0.0.1:0").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"Message received from", "Hello server!", "Server handshake received: Hello from the server!"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
