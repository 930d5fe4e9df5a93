package srv

import (
	"encoding/json"
	"os"
	"sync"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/hist"
)

// TickRecorder measures the intervals between a server's periodic updates
// against the nominal period. It keeps two bounded histograms: the intervals
// themselves and the jitter, |interval - period|. Safe for concurrent use.
type TickRecorder struct {
	period time.Duration

	mu       sync.Mutex
	last     time.Time
	interval hist.Histogram
	jitter   hist.Histogram
	since    time.Time
}

// NewTickRecorder returns a recorder for updates expected every 1/hz seconds.
func NewTickRecorder(hz int) *TickRecorder {
	return &TickRecorder{period: time.Second / time.Duration(hz), since: time.Now()}
}

// Period returns the nominal update period.
func (r *TickRecorder) Period() time.Duration { return r.period }

// Tick records one update that started at now.
func (r *TickRecorder) Tick(now time.Time) {
	r.mu.Lock()
	if !r.last.IsZero() {
		d := now.Sub(r.last)
		j := d - r.period
		if j < 0 {
			j = -j
		}
		r.interval.Record(uint64(d))
		r.jitter.Record(uint64(j))
	}
	r.last = now
	r.mu.Unlock()
}

// Reset starts a new measurement window: it forgets all recorded intervals
// (the next update only sets the reference time).
func (r *TickRecorder) Reset() {
	r.mu.Lock()
	r.interval.Reset()
	r.jitter.Reset()
	r.last = time.Time{}
	r.since = time.Now()
	r.mu.Unlock()
}

// TickSummary is what a TickRecorder reports, in nanoseconds.
type TickSummary struct {
	// PeriodNs is the nominal period.
	PeriodNs int64 `json:"period_ns"`
	// WindowNs is how long the recorder has been recording since its last Reset.
	WindowNs int64 `json:"window_ns"`
	// Interval summarizes the measured intervals between updates.
	Interval hist.Summary `json:"interval"`
	// Jitter summarizes |interval - period|.
	Jitter hist.Summary `json:"jitter"`
}

// Summary returns the recorder's current statistics.
func (r *TickRecorder) Summary() TickSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return TickSummary{
		PeriodNs: int64(r.period),
		WindowNs: int64(time.Since(r.since)),
		Interval: r.interval.Summarize(),
		Jitter:   r.jitter.Summarize(),
	}
}

// WriteFile writes the recorder's summary as JSON to path atomically (write
// to a temporary file, then rename), so a reader polling for path never sees
// a partial file.
func (r *TickRecorder) WriteFile(path string) error {
	b, err := json.MarshalIndent(r.Summary(), "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
