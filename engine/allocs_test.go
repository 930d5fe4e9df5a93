//go:build !race

// The race detector makes sync.Pool drop objects on purpose, so allocation
// counts are only meaningful without it.

package engine

import (
	"runtime"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// TestEchoSteadyStateAllocs asserts the server's per-message hot path does
// not allocate: over 20,000 echoed messages the whole process allocates
// less than 0.05 objects per message (runtime background work included).
func TestEchoSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation accounting needs a quiet process")
	}
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().AddHeader("type", "move").SetBody(make([]byte, 64)))
	for _, inline := range []bool{false, true} {
		s := echoServer(t, WithInline(inline))
		echoPipeline(t, s, 20_000, 16, frame)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const n = 20_000
		echoPipeline(t, s, n, 16, frame)
		runtime.ReadMemStats(&after)
		per := float64(after.Mallocs-before.Mallocs) / n
		t.Logf("inline=%v: %.4f allocs per echoed message", inline, per)
		if per > 0.05 {
			t.Errorf("inline=%v: %.3f allocs per echoed message, want ~0", inline, per)
		}
	}
}
