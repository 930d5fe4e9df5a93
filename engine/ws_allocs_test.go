//go:build !race

package engine

import (
	"io"
	"runtime"
	"testing"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// wsEchoPipeline is echoPipeline for a WebSocket client: depth binary
// messages in flight, echoes read into a reused buffer.
func wsEchoPipeline(tb testing.TB, c *wsRaw, n, depth int, frame []byte, echoLen int) {
	batch := make([]byte, 0, len(frame)*depth)
	for i := 0; i < depth; i++ {
		batch = append(batch, frame...)
	}
	buf := make([]byte, echoLen*depth)
	for sent := 0; sent < n; sent += depth {
		if _, err := c.Write(batch); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.ReadFull(c.r, buf); err != nil {
			tb.Fatal(err)
		}
	}
}

func wsEchoSetup(tb testing.TB, opts ...Option) (*wsRaw, []byte, int) {
	s := startServer(tb, append([]Option{WithEventLoops(1), WithWebSocket(true), hzQuiet()}, opts...)...)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(tb, s)
	c, _ := wsDial(tb, s, "/ws")
	p, _ := proto.AppendPayload(nil, proto.NewMessage().AddHeader("type", "move").SetBody(make([]byte, 64)))
	return c, wsFrame(true, wsproto.OpBinary, p, false, 0), wsproto.HeaderSize(len(p), false) + len(p)
}

// TestWSEchoSteadyStateAllocs: a WebSocket client's echo path allocates
// nothing per message, as protocol v1's does.
func TestWSEchoSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation accounting needs a quiet process")
	}
	for _, inline := range []bool{false, true} {
		c, frame, echoLen := wsEchoSetup(t, WithInline(inline))
		wsEchoPipeline(t, c, 20_000, 16, frame, echoLen)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const n = 20_000
		wsEchoPipeline(t, c, n, 16, frame, echoLen)
		runtime.ReadMemStats(&after)
		per := float64(after.Mallocs-before.Mallocs) / n
		t.Logf("inline=%v: %.4f allocs per echoed WebSocket message", inline, per)
		if per > 0.05 {
			t.Errorf("inline=%v: %.3f allocs per echoed WebSocket message, want ~0", inline, per)
		}
	}
}

func benchWSEcho(b *testing.B, opts ...Option) {
	c, frame, echoLen := wsEchoSetup(b, opts...)
	wsEchoPipeline(b, c, 10_000, 16, frame, echoLen)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	wsEchoPipeline(b, c, b.N, 16, frame, echoLen)
}

// BenchmarkWSEchoDispatch is BenchmarkEchoDispatch for a WebSocket client.
func BenchmarkWSEchoDispatch(b *testing.B) { benchWSEcho(b) }

// BenchmarkWSEchoInline is BenchmarkEchoInline for a WebSocket client.
func BenchmarkWSEchoInline(b *testing.B) { benchWSEcho(b, WithInline(true)) }
