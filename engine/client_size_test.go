package engine

import (
	"testing"
	"unsafe"
)

// Every idle connection holds one Client: keep it within the 256-byte
// allocation size class (the next is 288, +32 bytes per connection).
func TestClientSize(t *testing.T) {
	if n := unsafe.Sizeof(Client{}); n > 256 {
		t.Errorf("Client is %d bytes, over the 256-byte size class; pack new fields into the small ones at its end or allocate rarely used state lazily", n)
	}
}
