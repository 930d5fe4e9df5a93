package examples_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runWithMetrics starts an example with -addr and -metrics on free ports
// and returns the node port and the metrics URL once both are up.
func runWithMetrics(t *testing.T, name string, extra ...string) (int, string) {
	t.Helper()
	bin := build(t, name)
	port, mport := freePort(t), freePort(t)
	args := append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-metrics", fmt.Sprintf("127.0.0.1:%d", mport)}, extra...)
	waitLog(t, exec.Command(bin, args...), "/metrics")
	return port, fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)
}

// waitLog starts cmd and returns once its stderr has logged a line
// containing want; the process is killed when the test ends.
func waitLog(t *testing.T, cmd *exec.Cmd, want string) {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return
		}
	}
	t.Fatalf("%s exited before logging %q", cmd.Path, want)
}

// metricValue scrapes url and returns the text value of the first sample
// line that starts with series (a name, possibly with labels).
func metricValue(t *testing.T, url, series string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	t.Fatalf("no %s in /metrics:\n%s", series, body)
	return ""
}

func TestChatMetricsFlag(t *testing.T) {
	port, url := runWithMetrics(t, "chat")
	c := connect(t, port)
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, url, "simpleserver_connections") != "1" {
		if time.Now().After(deadline) {
			t.Fatal("simpleserver_connections never reached 1")
		}
		time.Sleep(10 * time.Millisecond) // polling an external process's scrape
	}
	_ = c
	metricValue(t, url, "go_goroutines") // the runtime collector is there too
}
