package client

import (
	"io"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// BenchmarkSend measures Send to a server that discards everything; the
// steady state should not allocate.
func BenchmarkSend(b *testing.B) {
	c, p := connect(b, newFakeServer(b))
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, p.conn)
	}()
	m := proto.NewMessage().AddHeader("type", "move").SetBody(make([]byte, 64))
	b.ReportAllocs()
	b.SetBytes(int64(4 + m.PayloadSize()))
	for b.Loop() {
		if err := c.Send(m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.conn.Close()
	<-drained
}

// BenchmarkReceive measures the reader and Receive: each message is
// decoded into a Message the caller owns.
func BenchmarkReceive(b *testing.B) {
	c, p := connect(b, newFakeServer(b))
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().AddHeader("type", "state").SetBody(make([]byte, 64)))
	var batch []byte
	for range 256 {
		batch = append(batch, frame...)
	}
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := p.conn.Write(batch); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if m, err := c.Receive(b.Context()); err != nil || m.NumHeaders() != 1 {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	p.conn.Close() // ends a Write blocked on the full queue
	<-sent
}
