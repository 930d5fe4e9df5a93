package engine

import "time"

// WithAcceptRate caps how many connections are accepted per second; see
// Config.AcceptRate.
func WithAcceptRate(perSecond int) Option {
	return func(c *Config) { c.AcceptRate = perSecond }
}

// tokenBucket paces the accept loop for Config.AcceptRate: rate tokens a
// second, in bursts of up to one second's worth. Accept loop only.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate int) *tokenBucket {
	return &tokenBucket{rate: float64(rate), burst: float64(rate), tokens: float64(rate), last: time.Now()}
}

// take waits for a token; false means quit was closed first.
func (b *tokenBucket) take(quit <-chan struct{}) bool {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		d := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-quit:
			return false
		}
		b.tokens, b.last = 1, now.Add(d)
	}
	b.tokens--
	return true
}
