package examples_test

import (
	"fmt"
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
	cmd := exec.Command(bin, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-bots", "16", "-slow", "2", "-duration", "3500ms")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("arena: %v\n%s", err, out)
	}
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
