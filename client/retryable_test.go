package client

import "testing"

// TestRetryable: the CLOSE reasons a reconnecting client retries are the
// server's texts (README, disconnect reasons) for "try later" and for
// timeouts a session survives; kicks, protocol errors and slow consumers
// are final. (Literal texts: importing the engine here would bring gnet's
// process-wide goroutines into this package's leak check.)
func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   bool
	}{
		{"server shutting down", true},
		{"server full", true},
		{"too many connections from your address", true},
		{"idle timeout", true},
		{"frame timeout", true},
		{"slow consumer", false},
		{"internal server error", false},
		{"cheating", false},
	} {
		if got := retryable(&CloseError{Reason: tc.reason}); got != tc.want {
			t.Errorf("CLOSE %q: retryable %v, want %v", tc.reason, got, tc.want)
		}
	}
	if !retryable(ErrConnectionLost) || !retryable(ErrKeepAliveTimeout) {
		t.Error("a lost connection is not retried")
	}
}
