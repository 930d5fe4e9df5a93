package js

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeUnit runs the module's own tests (node --test test/*.test.mjs):
// the codec against docs/PROTOCOL.md's examples byte for byte, and the
// client against an in-memory WebSocket. CI installs Node when it is missing.
func TestNodeUnit(t *testing.T) {
	node := needNode(t)
	files, err := filepath.Glob(filepath.Join("test", "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files under test/: %v", err)
	}
	out, err := exec.Command(node, append([]string{"--test"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test reported failures:\n%s", out)
	}
	t.Logf("node --test: %s", summary(string(out)))
}

// TestEmbedded checks that FS holds the files a page imports.
func TestEmbedded(t *testing.T) {
	for _, name := range []string{"simpleserver.js", "codec.js", "session.js", "reconnect.js", "package.json"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil || len(b) == 0 {
			t.Errorf("FS lacks %s: %v", name, err)
		}
	}
}

// needNode returns the path of node, or skips when there is none.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (.ci/run installs it): skipping the JavaScript client's tests")
	}
	return node
}

// summary returns the "# pass N" and "# fail N" lines of node's TAP output.
func summary(out string) string {
	var s []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# pass") || strings.HasPrefix(l, "# fail") {
			s = append(s, strings.TrimPrefix(l, "# "))
		}
	}
	return strings.Join(s, ", ")
}

// nodeWithWebSocket returns node and the flags that give it a global
// WebSocket (built in from Node 22; behind --experimental-websocket from
// 20.10), or skips when this Node has none.
func nodeWithWebSocket(t *testing.T) (string, []string) {
	node := needNode(t)
	probe := `if (typeof WebSocket !== "function") process.exit(3)`
	if exec.Command(node, "-e", probe).Run() == nil {
		return node, nil
	}
	flags := []string{"--experimental-websocket"}
	if exec.Command(node, append(flags, "-e", probe)...).Run() == nil {
		return node, flags
	}
	out, _ := exec.Command(node, "--version").Output()
	t.Skipf("node %s has no WebSocket (needs Node 20.10+): skipping the end-to-end test", strings.TrimSpace(string(out)))
	return "", nil
}
