package natsbroker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSingleNodeLinksNoBroker: the root package and the engine (what a
// one-node server imports) depend on neither nats.go nor client_golang.
func TestSingleNodeLinksNoBroker(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/simpleserver-go/simpleserver", "github.com/simpleserver-go/simpleserver/engine").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/nats-io/") || strings.HasPrefix(dep, "github.com/prometheus/") {
			t.Errorf("a single-node server links %s", dep)
		}
	}
}
