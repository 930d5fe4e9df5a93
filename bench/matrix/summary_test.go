package matrix

import "testing"

func TestSig3(t *testing.T) {
	for v, want := range map[float64]string{
		0.8179: "0.818", 1.4: "1.40", 26.52: "26.5", 135.2: "135", 2679: "2679", 9999.4: "9999",
		10000: "10.0k", 28300: "28.3k", 999400: "999k", 999600: "1.00M", 1.08e6: "1.08M", 12.3e6: "12.3M",
	} {
		if got := sig3(v); got != want {
			t.Errorf("sig3(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestRotate(t *testing.T) {
	impls := []string{"raw", "std", "simple"}
	for k, want := range []string{"raw std simple", "std simple raw", "simple raw std", "raw std simple"} {
		got := rotate(impls, k)
		if s := got[0] + " " + got[1] + " " + got[2]; s != want {
			t.Errorf("rep %d order %q, want %q", k+1, s, want)
		}
	}
}
