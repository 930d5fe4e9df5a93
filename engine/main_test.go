package engine

import (
	"testing"

	"go.uber.org/goleak"
)

// gnet starts one process-wide goroutine pool (ants) when its package is
// initialised; its two housekeeping goroutines live as long as the process
// and belong to no server.
var gnetPoolGoroutines = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
}

// TestMain fails the package if any test leaves a goroutine behind: every
// server started by a test must stop completely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, gnetPoolGoroutines...)
}
