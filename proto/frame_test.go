package proto

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func lengthPrefix(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func TestFrameSize(t *testing.T) {
	tests := []struct {
		name     string
		b        []byte
		maxFrame int
		want     int
		err      error
	}{
		{"nothing", nil, 0, 0, nil},
		{"3 bytes", []byte{0, 0, 0}, 0, 0, nil},
		{"length 1", lengthPrefix(1), 0, 5, nil},
		{"length 26 with more bytes", append(lengthPrefix(26), 0, 1, 2), 0, 30, nil},
		{"exactly default max", lengthPrefix(DefaultMaxFrameSize), 0, LengthSize + DefaultMaxFrameSize, nil},
		{"negative max means default", lengthPrefix(DefaultMaxFrameSize), -1, LengthSize + DefaultMaxFrameSize, nil},
		{"exactly custom max", lengthPrefix(100), 100, 104, nil},
		{"above default max", lengthPrefix(DefaultMaxFrameSize + 1), 0, 0, ErrFrameTooLarge},
		{"above custom max", lengthPrefix(101), 100, 0, ErrFrameTooLarge},
		{"max uint32", lengthPrefix(0xffffffff), 0, 0, ErrFrameTooLarge},
		{"max uint32 over MaxFrameSizeLimit", lengthPrefix(0xffffffff), MaxFrameSizeLimit, 0, ErrFrameTooLarge},
		{"length 0", lengthPrefix(0), 0, 0, ErrEmptyFrame},
		{"length 0 followed by bytes", append(lengthPrefix(0), 0, 0, 0, 5), 0, 0, ErrEmptyFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FrameSize(tc.b, tc.maxFrame)
			if tc.err != nil {
				checkProtoErr(t, err, tc.err)
				t.Log(err)
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("FrameSize = %d, want %d", got, tc.want)
			}
			// Split reports the same error, from the prefix alone.
			p, n, err := Split(tc.b, tc.maxFrame)
			if tc.err != nil {
				checkProtoErr(t, err, tc.err)
				if p != nil || n != 0 {
					t.Fatalf("Split = %q, %d on error", p, n)
				}
			}
		})
	}
}

func TestSplit(t *testing.T) {
	f1 := framed(payload(KindMessage, 0, "one"))
	f2 := AppendPing(nil, []byte("p"))
	stream := append(append([]byte{}, f1...), f2...)

	// Every prefix shorter than a frame is "need more".
	for i := range len(f1) {
		p, n, err := Split(stream[:i], 0)
		if p != nil || n != 0 || err != nil {
			t.Fatalf("Split(%d of %d bytes) = %q, %d, %v; want nil, 0, nil", i, len(f1), p, n, err)
		}
	}
	p, n, err := Split(stream, 0)
	if err != nil || n != len(f1) || !bytes.Equal(p, f1[LengthSize:]) {
		t.Fatalf("Split = % x, %d, %v", p, n, err)
	}
	if cap(p) != len(p) {
		t.Fatalf("payload cap %d > len %d: appending to it would clobber the next frame", cap(p), len(p))
	}
	if &p[0] != &stream[LengthSize] {
		t.Fatal("payload does not alias the stream")
	}
	p, n2, err := Split(stream[n:], 0)
	if err != nil || n2 != len(f2) || !bytes.Equal(p, f2[LengthSize:]) {
		t.Fatalf("second Split = % x, %d, %v", p, n2, err)
	}
	if p, n, err := Split(stream[n+n2:], 0); p != nil || n != 0 || err != nil {
		t.Fatalf("Split at end = %q, %d, %v", p, n, err)
	}
}

// A receiver learns that a frame is too large from its first four bytes,
// before the payload arrives.
func TestSplitRejectsEarly(t *testing.T) {
	b := lengthPrefix(2000)
	_, _, err := Split(b, 1000)
	checkProtoErr(t, err, ErrFrameTooLarge)
}
