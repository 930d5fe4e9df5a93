package examples_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestArenaExample builds examples/arena and runs it briefly with bots,
// two of them slow readers: it must report every second, deliver
// positions, and kick nobody.
func TestArenaExample(t *testing.T) {
	bin := build(t, "arena")
	port := freePort(t)
	cmd := exec.Command(bin, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-bots", "16", "-slow", "2", "-duration", "4s")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "listening") {
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	// The browser view is served on the game's own port.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET /: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("<canvas")) || !bytes.Contains(page, []byte("/ws")) {
		t.Errorf("GET / = %d, %d bytes without the arena's canvas", resp.StatusCode, len(page))
	}
	servesModules(t, port)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("arena: %v\n%s", err, stdout.Bytes())
	}
	out := stdout.Bytes()
	line := regexp.MustCompile(`^players (\d+) in (\d+) arenas \| tick avg \S+ max \S+ \| deliveries/s (\d+) \| replaced (\d+) dropped (\d+) \(held \d+ B\) \| slow-consumer kicks (\d+)$`)
	reports := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("unexpected output line %q", l)
			continue
		}
		reports++
		if deliveries, _ := strconv.Atoi(m[3]); reports == 2 && deliveries == 0 {
			t.Errorf("no deliveries in a full second: %q", l)
		}
		if m[6] != "0" {
			t.Errorf("a player was kicked as a slow consumer: %q", l)
		}
	}
	if reports < 2 {
		t.Fatalf("%d reports in 3.5 s, want one a second:\n%s", reports, out)
	}
}
