package proto

import (
	"bytes"
	"strings"
	"testing"
)

// decoded returns a Message decoded from a private copy of p, and that copy,
// which is given spare capacity filled with 0xEE so that a write past its end
// would show.
func decoded(t *testing.T, p []byte) (*Message, []byte) {
	t.Helper()
	buf := make([]byte, len(p), len(p)+64)
	copy(buf, p)
	for i := len(p); i < cap(buf); i++ {
		buf[:cap(buf)][i] = 0xEE
	}
	m := NewMessage()
	if _, _, err := ParsePayload(buf, m, nil); err != nil {
		t.Fatal(err)
	}
	return m, buf
}

var sample = payload(KindMessage, 3, 4, "user", 3, "bob", 4, "flag", 0, 4, "user", 5, "alice", "body bytes")
var sampleHdrs = []hdr{{"user", "bob"}, {"flag", ""}, {"user", "alice"}}

func TestNewMessageIsEmpty(t *testing.T) {
	for _, m := range []*Message{NewMessage(), {}} {
		checkMessage(t, m, nil, "")
		if m.BodyString() != "" || m.HasHeader("x") {
			t.Fatal("not empty")
		}
		got, err := AppendFrame(nil, m)
		if err != nil || !bytes.Equal(got, framed(payload(KindMessage, 0))) {
			t.Fatalf("empty message encodes as % x, %v", got, err)
		}
	}
}

func TestHeaderLookup(t *testing.T) {
	m := NewMessage().AddHeader("user", "bob").AddHeader("flag", "").AddHeader("user", "alice")
	dec, _ := decoded(t, sample)
	for name, m := range map[string]*Message{"built": m, "decoded": dec} {
		t.Run(name, func(t *testing.T) {
			if v, ok := m.Header("user"); !ok || string(v) != "bob" {
				t.Fatalf("Header(user) = %q, %v; want the first, bob", v, ok)
			}
			if v, ok := m.HeaderString("user"); !ok || v != "bob" {
				t.Fatalf("HeaderString(user) = %q, %v", v, ok)
			}
			if v, ok := m.Header("flag"); !ok || len(v) != 0 {
				t.Fatalf("Header(flag) = %q, %v; want empty, true", v, ok)
			}
			if v, ok := m.Header("missing"); ok || v != nil {
				t.Fatalf("Header(missing) = %q, %v", v, ok)
			}
			if v, ok := m.HeaderString("missing"); ok || v != "" {
				t.Fatalf("HeaderString(missing) = %q, %v", v, ok)
			}
			for _, n := range []string{"user", "flag"} {
				if !m.HasHeader(n) {
					t.Fatalf("HasHeader(%q) = false", n)
				}
			}
			for _, n := range []string{"", "use", "users", "User", "body bytes"} {
				if m.HasHeader(n) {
					t.Fatalf("HasHeader(%q) = true", n)
				}
			}
		})
	}
}

func TestHeadersIterator(t *testing.T) {
	m, _ := decoded(t, sample)
	var got []hdr
	for n, v := range m.Headers() {
		got = append(got, hdr{string(n), string(v)})
	}
	if len(got) != len(sampleHdrs) {
		t.Fatalf("iterated %v", got)
	}
	for i := range got {
		if got[i] != sampleHdrs[i] {
			t.Fatalf("header %d = %v, want %v", i, got[i], sampleHdrs[i])
		}
	}

	// Early break stops the iteration.
	calls := 0
	for n := range m.Headers() {
		calls++
		if string(n) == "flag" {
			break
		}
	}
	if calls != 2 {
		t.Fatalf("loop ran %d times after break at the 2nd header, want 2", calls)
	}
	// Nothing to iterate.
	for range NewMessage().Headers() {
		t.Fatal("empty message yielded a header")
	}
}

func TestHeaderAt(t *testing.T) {
	m, _ := decoded(t, sample)
	for i, h := range sampleHdrs {
		n, v := m.HeaderAt(i)
		if string(n) != h.name || string(v) != h.value {
			t.Fatalf("HeaderAt(%d) = %q %q", i, n, v)
		}
		// The returned slices end where the header does: appending to them
		// cannot overwrite the next header.
		if cap(n) != len(n) || cap(v) != len(v) {
			t.Fatalf("HeaderAt(%d): cap exceeds len", i)
		}
	}
	for _, i := range []int{-1, len(sampleHdrs)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("HeaderAt(%d) did not panic", i)
				}
			}()
			m.HeaderAt(i)
		}()
	}
}

func TestReset(t *testing.T) {
	m := NewMessage().AddHeader("a", "1").AddHeader("b", "2").SetBodyString("body")
	for round := range 3 {
		m.Reset()
		checkMessage(t, m, nil, "")
		if m.HasHeader("a") {
			t.Fatal("header survived Reset")
		}
		m.AddHeader("c", strings.Repeat("3", round)).SetBodyString("new")
		checkMessage(t, m, []hdr{{"c", strings.Repeat("3", round)}}, "new")
	}

	// Reset of a decoded message must not make later writes land in the payload.
	d, buf := decoded(t, sample)
	before := bytes.Clone(buf[:cap(buf)])
	d.Reset()
	d.AddHeader("x", strings.Repeat("y", 100)).SetBodyString(strings.Repeat("z", 100))
	if !bytes.Equal(buf[:cap(buf)], before) {
		t.Fatal("Reset + AddHeader/SetBody wrote into the decoded payload")
	}
	// Decode, Reset, Decode again: the same Message serves a stream of frames.
	if _, _, err := ParsePayload(sample, d, nil); err != nil {
		t.Fatal(err)
	}
	checkMessage(t, d, sampleHdrs, "body bytes")
}

func TestAddHeaderOnDecodedMessage(t *testing.T) {
	m, buf := decoded(t, sample)
	before := bytes.Clone(buf[:cap(buf)])
	m.AddHeader("added", "value").AddHeaderBytes([]byte("more"), nil)
	if !bytes.Equal(buf[:cap(buf)], before) {
		t.Fatal("AddHeader wrote into the decoded payload (or past its end)")
	}
	want := append(append([]hdr{}, sampleHdrs...), hdr{"added", "value"}, hdr{"more", ""})
	checkMessage(t, m, want, "body bytes")

	// SetBody on a decoded message does not write into the payload either.
	m.SetBodyString("replaced")
	m.SetBody([]byte("replaced again, longer than before"))
	if !bytes.Equal(buf[:cap(buf)], before) {
		t.Fatal("SetBody wrote into the decoded payload")
	}
	checkMessage(t, m, want, "replaced again, longer than before")

	// Adding a header copied from the message itself.
	n, v := m.HeaderAt(0)
	m.AddHeaderBytes(n, v)
	checkMessage(t, m, append(want, sampleHdrs[0]), "replaced again, longer than before")
}

func TestClone(t *testing.T) {
	m, buf := decoded(t, sample)
	c := m.Clone()
	clear(buf) // the payload's buffer is reused for the next frame
	checkMessage(t, c, sampleHdrs, "body bytes")

	// The clone is independent of its source in both directions.
	src := NewMessage().AddHeader("a", "1").SetBodyString("b")
	c = src.Clone()
	src.Reset()
	src.AddHeader("zzz", "999").SetBodyString("other")
	checkMessage(t, c, []hdr{{"a", "1"}}, "b")
	c.AddHeader("c", "3")
	checkMessage(t, src, []hdr{{"zzz", "999"}}, "other")

	checkMessage(t, NewMessage().Clone(), nil, "")
}

func TestCopyTo(t *testing.T) {
	m, buf := decoded(t, sample)
	dst := NewMessage().AddHeader("old", strings.Repeat("o", 500)).SetBodyString(strings.Repeat("O", 500))
	m.CopyTo(dst)
	clear(buf)
	checkMessage(t, dst, sampleHdrs, "body bytes")

	// An empty source empties dst.
	NewMessage().CopyTo(dst)
	checkMessage(t, dst, nil, "")
}

// CopyTo(itself) makes a decoded message own all its bytes, body included.
func TestCopyToSelf(t *testing.T) {
	m, buf := decoded(t, sample)
	m.CopyTo(m)
	clear(buf)
	checkMessage(t, m, sampleHdrs, "body bytes")

	b := NewMessage().AddHeader("a", "1").SetBodyString("b")
	b.CopyTo(b)
	checkMessage(t, b, []hdr{{"a", "1"}}, "b")
}

func TestSetBodySelfAliasing(t *testing.T) {
	m := NewMessage().SetBodyString("hello world")
	m.SetBody(m.Body())
	checkMessage(t, m, nil, "hello world")
	m.SetBody(m.Body()[6:]) // overlapping, shifted
	checkMessage(t, m, nil, "world")
	m.SetBody(m.Body()[:0])
	checkMessage(t, m, nil, "")
	m.SetBody(nil)
	checkMessage(t, m, nil, "")

	// Same on a decoded message, whose body aliases the payload.
	d, buf := decoded(t, sample)
	before := bytes.Clone(buf)
	d.SetBody(d.Body())
	checkMessage(t, d, sampleHdrs, "body bytes")
	if !bytes.Equal(buf, before) {
		t.Fatal("payload modified")
	}
	clear(buf)
	if d.BodyString() != "body bytes" {
		t.Fatal("SetBody did not copy the body")
	}
}

func TestSetBodyString(t *testing.T) {
	m := NewMessage().SetBodyString("a longer first body")
	m.SetBodyString("second")
	checkMessage(t, m, nil, "second")
	if m.BodyString() != "second" {
		t.Fatal(m.BodyString())
	}
	m.SetBodyString("")
	checkMessage(t, m, nil, "")
}

func TestLimits(t *testing.T) {
	if got := (Limits{}).WithDefaults(); got != DefaultLimits() {
		t.Fatalf("zero Limits.WithDefaults() = %+v, want %+v", got, DefaultLimits())
	}
	if d := DefaultLimits(); d.MaxFrameSize != 1<<20 || d.MaxHeaders != 64 || d.MaxHeaderName != 255 {
		t.Fatalf("DefaultLimits() = %+v", d)
	}
	got := (Limits{MaxHeaders: 8}).WithDefaults()
	if want := (Limits{MaxFrameSize: DefaultMaxFrameSize, MaxHeaders: 8, MaxHeaderName: DefaultMaxHeaderName}); got != want {
		t.Fatalf("WithDefaults kept %+v, want %+v", got, want)
	}

	valid := []Limits{{}, DefaultLimits(), {MaxFrameSize: MaxFrameSizeLimit}, {MaxFrameSize: 1, MaxHeaders: 1, MaxHeaderName: 1},
		{MaxHeaderName: MaxHeaderNameLen}, {MaxHeaders: 1 << 20}}
	for _, l := range valid {
		if err := l.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v", l, err)
		}
	}
	invalid := []Limits{{MaxFrameSize: -1}, {MaxFrameSize: MaxFrameSizeLimit + 1}, {MaxHeaders: -1},
		{MaxHeaderName: -1}, {MaxHeaderName: MaxHeaderNameLen + 1}}
	for _, l := range invalid {
		if err := l.Validate(); err == nil || !strings.HasPrefix(err.Error(), "proto: ") {
			t.Errorf("%+v.Validate() = %v, want an error", l, err)
		}
	}
	// All problems are reported at once.
	err := Limits{MaxFrameSize: -1, MaxHeaders: -1, MaxHeaderName: -1}.Validate()
	if err == nil || strings.Count(err.Error(), "proto: ") != 3 {
		t.Fatalf("Validate() = %v, want three errors", err)
	}
}
