package engine

import (
	"bytes"
	"testing"
	"time"
)

func TestLaneValues(t *testing.T) {
	for _, c := range []struct {
		l    Lane
		want string
		rel  bool
	}{
		{Reliable, "reliable", true},
		{Lane{}, "reliable", true},
		{Latest(7), "latest(7)", false},
		{Ephemeral(200 * time.Millisecond), "ephemeral(200ms)", false},
		{Ephemeral(-time.Second), "ephemeral(0s)", false},
	} {
		if c.l.String() != c.want || c.l.IsReliable() != c.rel {
			t.Errorf("%v: String %q IsReliable %v", c.want, c.l.String(), c.l.IsReliable())
		}
	}
}

// TestLaneQueueLatest: one frame per key, the newest; a new key over the
// budget is dropped, a replacement never is; compaction keeps the bytes.
func TestLaneQueueLatest(t *testing.T) {
	var srv laneCounters
	q := newLaneQueue()
	q.putLatest(1, []byte("a1"), 10, &srv)
	q.putLatest(2, []byte("b1"), 10, &srv)
	q.putLatest(1, []byte("a2"), 10, &srv)      // same size: in place
	q.putLatest(2, []byte("b2-long"), 10, &srv) // larger: over budget, still replaces
	q.putLatest(3, []byte("c1"), 10, &srv)      // new key over budget: dropped
	for i := 0; i < 20; i++ {                   // garbage builds up, then is compacted
		q.putLatest(1, []byte{'a', byte('0' + i%2), 'x'}[:2+i%2], 100, &srv)
	}
	if q.lgarbage > q.lbytes+3 {
		t.Errorf("garbage %d not compacted (live %d)", q.lgarbage, q.lbytes)
	}
	got, ne, nl := q.assemble(nil, 0, &srv)
	if ne != 0 || nl != 2 || !bytes.Equal(got, []byte("a1xb2-long")) {
		t.Errorf("assemble = %q (%d eph, %d latest)", got, ne, nl)
	}
	st := q.stats.snapshot()
	if st.Replaced != 22 || st.Evicted != 1 {
		t.Errorf("stats %+v, want 22 replaced, 1 evicted", st)
	}
	if srv.held.Load() != int64(len(got)) || q.heldBytes() != len(got) {
		t.Errorf("held %d / %d, want %d", srv.held.Load(), q.heldBytes(), len(got))
	}
	q.consume(0, 1, &srv) // key 1 sent
	if _, ok := q.index[1]; ok || q.index[2] != 0 || q.heldBytes() != len("b2-long") {
		t.Errorf("after consume: index %v held %d", q.index, q.heldBytes())
	}
	q.consume(0, 1, &srv)
	if q.held() || srv.held.Load() != 0 || len(q.lbuf) != 0 {
		t.Errorf("after consuming all: held %v gauge %d lbuf %d", q.held(), srv.held.Load(), len(q.lbuf))
	}
}

// TestLaneQueueEphemeral: FIFO, oldest dropped first over the budget,
// expired frames dropped, the buffer stays bounded.
func TestLaneQueueEphemeral(t *testing.T) {
	var srv laneCounters
	q := newLaneQueue()
	q.putEphemeral(100, []byte("one"), 8, &srv)
	q.putEphemeral(200, []byte("two"), 8, &srv)
	q.putEphemeral(300, []byte("six"), 8, &srv) // evicts "one"
	q.putEphemeral(50, []byte("too-long!"), 8, &srv)
	if st := q.stats.snapshot(); st.Evicted != 2 {
		t.Errorf("evicted %d, want 2", st.Evicted)
	}
	got, ne, _ := q.assemble(nil, 250, &srv) // "two" expired by now
	if !bytes.Equal(got, []byte("six")) || ne != 2 {
		t.Errorf("assemble = %q, %d frames", got, ne)
	}
	if st := q.stats.snapshot(); st.Expired != 1 {
		t.Errorf("expired %d, want 1", st.Expired)
	}
	q.expire(250, &srv) // the expired one at the head goes, counted once
	if st := q.stats.snapshot(); st.Expired != 1 || q.ebytes != 3 {
		t.Errorf("after expire: %+v, %d bytes", st, q.ebytes)
	}
	for i := int64(0); i < 10_000; i++ {
		q.putEphemeral(1000+i, make([]byte, 100), 1000, &srv)
	}
	if q.ebytes > 1000 || cap(q.ebuf) > 8<<10 || len(q.eph)-q.ehead > 10 {
		t.Errorf("held %d bytes in a %d-byte buffer, %d frames", q.ebytes, cap(q.ebuf), len(q.eph)-q.ehead)
	}
	q.drop(&srv)
	if q.held() || srv.held.Load() != 0 {
		t.Errorf("after drop: held %v, gauge %d", q.held(), srv.held.Load())
	}
}
