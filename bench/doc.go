// Package bench measures SimpleServer side by side with a raw gnet v2 server
// (the ceiling) and a goroutine-per-connection net server (what a user
// writes without a framework). The servers live in bench/srv/..., the load
// generator in bench/loadgen, the matrix runner in bench/matrix, and the
// commands in bench/cmd/bench and bench/cmd/benchserver; README.md explains
// how to run them and read the results. This package holds only the smoke
// test.
package bench
