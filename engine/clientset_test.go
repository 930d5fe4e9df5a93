package engine

import "testing"

// TestClientSetIndex: the registry's ID index, built at the first lookup,
// agrees with the set before and after, through adds and swap-removes.
func TestClientSetIndex(t *testing.T) {
	var s clientSet // the registry (which == registrySlot)
	cs := make([]*Client, 5)
	for i := range cs {
		cs[i] = &Client{id: uint64(100 + i)}
		s.add(cs[i])
	}
	if s.byID != nil {
		t.Fatal("index built before any lookup")
	}
	s.remove(cs[1])
	for i, c := range cs {
		want := c
		if i == 1 {
			want = nil
		}
		if got := s.get(c.id); got != want {
			t.Fatalf("get(%d) = %v, want %v", c.id, got, want)
		}
	}
	late := &Client{id: 200}
	s.add(late)
	s.remove(cs[0]) // moves the last member into slot 0
	if s.get(200) != late || s.get(100) != nil || s.get(104) != cs[4] || len(s.byID) != len(s.clients) {
		t.Fatalf("index out of step: %d entries for %d members", len(s.byID), len(s.clients))
	}
}
