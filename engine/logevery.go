package engine

import (
	"sync"
	"time"
)

// logEvery is the interval of the server's rate-limited log lines: a flood
// of refused connections or failing accepts logs one line per interval
// (with a count of what it left out), not one per event.
const logEvery = 5 * time.Second

// logLimiter lets one log line through per logEvery and counts the rest.
type logLimiter struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether to log now, and how many lines it held back since
// the last one it let through.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.suppressed = 0
	l.next = now.Add(logEvery)
	return true, n
}
