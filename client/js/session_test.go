package js

import (
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// TestNodeSessionCodecMatchesGo encodes HELLO, WELCOME and ACK with the
// JavaScript codec (session.js, in Node) and with package proto, and
// decodes proto's bytes in JavaScript: the two implementations of
// docs/PROTOCOL.md's Sessions frames agree byte for byte.
func TestNodeSessionCodecMatchesGo(t *testing.T) {
	node := needNode(t)
	tok := make([]byte, 16)
	for i := range tok {
		tok[i] = byte(0xf0 + i)
	}
	welcome := proto.AppendWelcome(nil, proto.Welcome{Flags: proto.WelcomeResumed, Token: tok, Received: 1 << 40, GraceMillis: 30_000})
	script := `
import { encodeHello, encodeWelcome, encodeAck, decodeWelcome } from './session.js';
const hex = (b) => Buffer.from(b).toString('hex');
const tok = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i);
const w = decodeWelcome(Buffer.from(process.argv[1], 'hex'));
console.log(JSON.stringify({
  hello: hex(encodeHello()),
  resume: hex(encodeHello(tok, 300)),
  welcome: hex(encodeWelcome({ flags: 1, token: tok, received: 2 ** 40, graceMs: 30000 })),
  noSessions: hex(encodeWelcome({})),
  ack: hex(encodeAck(16384)),
  decoded: { resumed: w.resumed, token: hex(w.token), received: w.received, graceMs: w.graceMs },
}));`
	cmd := exec.Command(node, "--input-type=module", "-e", script, hex.EncodeToString(welcome[proto.LengthSize:]))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Hello, Resume, Welcome, NoSessions, Ack string
		Decoded                                 struct {
			Resumed           bool
			Token             string
			Received, GraceMs uint64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	payload := func(frame []byte) string { return hex.EncodeToString(frame[proto.LengthSize:]) }
	for _, c := range []struct{ name, js, goHex string }{
		{"HELLO (new)", got.Hello, payload(proto.AppendHello(nil, nil, 0))},
		{"HELLO (resume)", got.Resume, payload(proto.AppendHello(nil, tok, 300))},
		{"WELCOME", got.Welcome, payload(welcome)},
		{"WELCOME (no sessions)", got.NoSessions, payload(proto.AppendWelcome(nil, proto.Welcome{}))},
		{"ACK", got.Ack, payload(proto.AppendAck(nil, 16384))},
	} {
		if c.js != c.goHex {
			t.Errorf("%s: JavaScript % s, Go % s", c.name, c.js, c.goHex)
		}
	}
	if d := got.Decoded; !d.Resumed || d.Token != hex.EncodeToString(tok) || d.Received != 1<<40 || d.GraceMs != 30_000 {
		t.Errorf("JavaScript decoded Go's WELCOME as %+v", d)
	}
}
