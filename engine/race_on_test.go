//go:build race

package engine

// raceOn: the race detector slows the server ~10x; soak sizes scale down.
const raceOn = true
