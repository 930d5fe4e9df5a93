package engine

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// gnet starts one process-wide goroutine pool (ants) when its package is
// initialised; its two housekeeping goroutines live as long as the process
// and belong to no server. Its workers, which adopt accepted sockets for
// Engine.Register, idle for up to 10 s before they exit.
var gnetPoolGoroutines = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
}

// TestMain fails the package if any test leaves a goroutine behind: every
// server started by a test must stop completely. Started as a helper
// process by a test (fdChildEnv set), it runs that child's server instead.
func TestMain(m *testing.M) {
	if spec := os.Getenv(fdChildEnv); spec != "" {
		os.Exit(fdChild(spec))
	}
	goleak.VerifyTestMain(m, gnetPoolGoroutines...)
}
