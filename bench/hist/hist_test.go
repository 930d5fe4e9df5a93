package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 1 << 20, 1<<20 + 12345, maxValue, maxValue + 1, 1 << 63} {
		i := bucketOf(v)
		if i < 0 || i >= NumBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		lo, hi := bucketRange(i)
		c := min(v, maxValue)
		if c < lo || c > hi {
			t.Fatalf("value %d in bucket %d [%d,%d]", v, i, lo, hi)
		}
		if i < prev {
			t.Fatalf("bucket index not monotonic at %d", v)
		}
		prev = i
	}
	// every bucket's range starts right after the previous one ends
	for i := 1; i < NumBuckets; i++ {
		plo, phi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != phi+1 || plo > phi {
			t.Fatalf("gap between bucket %d and %d: %d..%d then %d", i-1, i, plo, phi, lo)
		}
	}
}

func TestQuantilesWithinOnePercent(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]uint64, 100000)
	for i := range vals {
		vals[i] = uint64(r.ExpFloat64()*50000) + 1000
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if d := float64(got)/float64(want) - 1; d > 0.01 || d < -0.01 {
			t.Errorf("q%.3f = %d, want %d ±1%%", q, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	var m Histogram
	m.Merge(&h)
	if m.Count() != h.Count() || m.Quantile(0.99) != h.Quantile(0.99) || m.Min() != h.Min() {
		t.Error("merge changed the distribution")
	}
}
