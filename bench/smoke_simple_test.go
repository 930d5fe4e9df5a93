package bench_test

import (
	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/bench/srv/simple"
)

func init() {
	servers = append(servers,
		serverCase{"simple", srv.Config{Loops: 2}, simple.Start},
		serverCase{"simple-inline", srv.Config{Loops: 2, Inline: true}, simple.Start},
	)
}
