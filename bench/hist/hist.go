// Package hist is a small bounded-memory log-linear histogram (HDR-style) for
// latencies and intervals in nanoseconds.
//
// Values below 128 are counted exactly; every octave above is split into 128
// linear sub-buckets, so any value is reported within 1/128 (0.8 %) of its
// true size. Values are clamped to 2^40 ns (about 18 minutes). A Histogram is
// a fixed 35 KiB array whatever the number of samples, and Record is a single
// atomic add, so any number of goroutines may record into one Histogram.
package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
)

const (
	subBits  = 7
	sub      = 1 << subBits // sub-buckets per octave
	maxBits  = 40           // values are clamped below 2^maxBits
	maxValue = 1<<maxBits - 1
	// NumBuckets is the fixed number of counters in a Histogram.
	NumBuckets = (maxBits-1-subBits)*sub + 2*sub
)

// Histogram counts uint64 values (normally nanoseconds) in log-linear
// buckets. The zero value is empty and ready to use. Record, Merge and the
// read methods are safe for concurrent use; a reader racing with writers sees
// a consistent-enough snapshot for reporting.
type Histogram struct {
	counts [NumBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
	min    atomic.Uint64 // stored as ^min so the zero value means "none"
}

func bucketOf(v uint64) int {
	if v < sub {
		return int(v)
	}
	if v > maxValue {
		v = maxValue
	}
	msb := bits.Len64(v) - 1
	shift := msb - subBits
	return shift*sub + int(v>>uint(shift))
}

// bucketRange returns the smallest and largest value counted in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2*sub {
		return uint64(i), uint64(i)
	}
	shift := i/sub - 1
	top := uint64(i - shift*sub) // in [sub, 2*sub)
	lo = top << uint(shift)
	return lo, lo + (1 << uint(shift)) - 1
}

// Record counts one value.
func (h *Histogram) Record(v uint64) { h.RecordN(v, 1) }

// RecordN counts value v n times (for pre-aggregated samples).
func (h *Histogram) RecordN(v, n uint64) {
	if n == 0 {
		return
	}
	h.counts[bucketOf(v)].Add(n)
	h.n.Add(n)
	h.sum.Add(v * n)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if ^v <= m || h.min.CompareAndSwap(m, ^v) {
			break
		}
	}
}

// Merge adds every count of o into h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	if v := o.max.Load(); v > 0 {
		for {
			m := h.max.Load()
			if v <= m || h.max.CompareAndSwap(m, v) {
				break
			}
		}
	}
	if v := o.min.Load(); v > 0 {
		for {
			m := h.min.Load()
			if v <= m || h.min.CompareAndSwap(m, v) {
				break
			}
		}
	}
}

// Reset empties h. It must not race with Record.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
	h.min.Store(0)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max returns the largest recorded value exactly (0 when empty).
func (h *Histogram) Max() uint64 { return h.max.Load() }

// Min returns the smallest recorded value exactly (0 when empty).
func (h *Histogram) Min() uint64 {
	if h.n.Load() == 0 {
		return 0
	}
	return ^h.min.Load()
}

// Mean returns the exact mean of the recorded values (0 when empty).
func (h *Histogram) Mean() float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns the value at quantile q in [0,1] (0.99 for p99): the
// midpoint of the bucket holding the ceil(q*n)'th smallest value, clamped to
// the exact min and max. It returns 0 when h is empty.
func (h *Histogram) Quantile(q float64) uint64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			if mx := h.Max(); v > mx {
				v = mx
			}
			if mn := h.Min(); v < mn {
				v = mn
			}
			return v
		}
	}
	return h.Max()
}

// Summary is a JSON-friendly digest of a Histogram, in the histogram's unit.
type Summary struct {
	Count uint64  `json:"count"` // number of values
	Min   uint64  `json:"min"`   // smallest value, exact
	Mean  float64 `json:"mean"`  // mean, exact
	P50   uint64  `json:"p50"`   // median
	P90   uint64  `json:"p90"`   // 90th percentile
	P99   uint64  `json:"p99"`   // 99th percentile
	P999  uint64  `json:"p999"`  // 99.9th percentile
	Max   uint64  `json:"max"`   // largest value, exact
}

// Summarize returns the usual quantiles of h.
func (h *Histogram) Summarize() Summary {
	return Summary{
		Count: h.Count(),
		Min:   h.Min(),
		Mean:  h.Mean(),
		P50:   h.Quantile(0.50),
		P90:   h.Quantile(0.90),
		P99:   h.Quantile(0.99),
		P999:  h.Quantile(0.999),
		Max:   h.Max(),
	}
}
