package proto

import "testing"

// The hot paths do not allocate: encoding into a reused buffer, decoding
// into a reused Message, splitting, looking headers up, control frames, and
// copying into a warmed-up Message. This is an assertion, not a timing.
func TestZeroAllocs(t *testing.T) {
	for _, bc := range benchCases {
		m := benchMessage(bc.headers, bc.body)
		buf, _ := AppendFrame(nil, m)
		p := buf[LengthSize:]
		var d, c Message
		ParsePayload(p, &d, nil)
		d.CopyTo(&c)
		name := "absent"
		if bc.headers > 0 {
			name = benchName(bc.headers - 1)
		}
		checks := []struct {
			what string
			f    func()
		}{
			{"AppendFrame", func() { buf, _ = AppendFrame(buf[:0], m) }},
			{"AppendRawFrame", func() { buf, _ = AppendRawFrame(buf[:0], m.Body()) }},
			{"Split", func() { Split(buf, 0) }},
			{"ParsePayload", func() { ParsePayload(p, &d, nil) }},
			{"Header", func() { d.Header(name) }},
			{"Header missing", func() { d.Header("missing") }},
			{"HasHeader", func() { d.HasHeader(name) }},
			{"Headers", func() {
				for range d.Headers() {
				}
			}},
			{"CopyTo", func() { d.CopyTo(&c) }},
			{"Reset+AddHeader+SetBody", func() {
				c.Reset()
				c.AddHeader("a", "b").SetBody(m.Body())
			}},
			{"AppendPing/Pong/Close", func() {
				buf = AppendPing(buf[:0], []byte("x"))
				buf = AppendPong(buf, []byte("x"))
				buf = AppendClose(buf, "bye")
			}},
		}
		for _, c := range checks {
			if n := testing.AllocsPerRun(100, c.f); n != 0 {
				t.Errorf("%s/%s: %v allocs per run, want 0", bc.name, c.what, n)
			}
		}
	}
}
