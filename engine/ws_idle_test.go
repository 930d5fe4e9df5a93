package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// TestWSIdleMemory measures the server's heap per idle client, protocol v1
// against WebSocket (target: WebSocket at most 1.2 times v1). The clients
// run in a child process, so the heap measured is the server's alone.
func TestWSIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("holds thousands of connections")
	}
	const n = 2000
	measure := func(ws bool) float64 {
		s := startServer(t, append(wsOpts(), hzOpt(noHeartbeat))...)
		run(t, s)
		base := heapInuse()
		cmd := exec.Command(os.Args[0], "-test.run=^TestWSIdleHelper$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("SS_IDLE_HELPER=%s,%d,%v", s.Addr(), n, ws))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { stdin.Close(); _ = cmd.Wait() }()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "ready") {
			t.Fatalf("helper: %q %v", line, err)
		}
		hzWaitFor(t, 30*time.Second, "every idle client connected", func() bool { return s.NumClients() == n })
		return float64(int64(heapInuse())-int64(base)) / n
	}
	tcp := measure(false)
	ws := measure(true)
	t.Logf("server heap per idle client: v1 %.0f B, WebSocket %.0f B (%.2fx)", tcp, ws, ws/tcp)
	if ws > 1.2*tcp {
		t.Errorf("an idle WebSocket client costs %.2fx a v1 one, over 1.2x", ws/tcp)
	}
}

// TestWSIdleHelper is the child process of TestWSIdleMemory: it opens the
// connections, prints "ready", and holds them until stdin closes.
func TestWSIdleHelper(t *testing.T) {
	spec := os.Getenv("SS_IDLE_HELPER")
	if spec == "" {
		t.Skip("run by TestWSIdleMemory as a child process")
	}
	parts := strings.Split(spec, ",")
	n, _ := strconv.Atoi(parts[1])
	ws := parts[2] == "true"
	conns := make([]net.Conn, 0, n)
	hello := hzControl(proto.KindPong, nil)
	buf := make([]byte, 512)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", parts[0])
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if !ws {
			_, err = c.Write(hello)
		} else if _, err = c.Write([]byte(wsRequest(parts[0], "/ws"))); err == nil {
			var got []byte
			for err == nil && !bytes.Contains(got, []byte("\r\n\r\n")) {
				var k int
				k, err = c.Read(buf)
				got = append(got, buf[:k]...)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
