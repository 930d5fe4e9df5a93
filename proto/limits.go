package proto

import (
	"errors"
	"fmt"
)

// Limits are what a receiver accepts. A zero field means its default, so the
// zero Limits equals DefaultLimits().
type Limits struct {
	// MaxFrameSize is the largest payload length accepted (default 1 MiB).
	MaxFrameSize int
	// MaxHeaders is the largest header count in one message (default 64).
	MaxHeaders int
	// MaxHeaderName is the longest header name in bytes (default 255, which
	// is also the most allowed: MaxHeaderNameLen).
	MaxHeaderName int
}

// DefaultLimits returns the protocol's default receiver limits.
func DefaultLimits() Limits {
	return Limits{
		MaxFrameSize:  DefaultMaxFrameSize,
		MaxHeaders:    DefaultMaxHeaders,
		MaxHeaderName: DefaultMaxHeaderName,
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxFrameSize == 0 {
		l.MaxFrameSize = DefaultMaxFrameSize
	}
	if l.MaxHeaders == 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxHeaderName == 0 {
		l.MaxHeaderName = DefaultMaxHeaderName
	}
	return l
}

// Validate reports whether l is usable: no negative field, MaxFrameSize at
// most MaxFrameSizeLimit and MaxHeaderName at most MaxHeaderNameLen. Zero
// fields are valid (they mean the default).
func (l Limits) Validate() error {
	var errs []error
	if l.MaxFrameSize < 0 || l.MaxFrameSize > MaxFrameSizeLimit {
		errs = append(errs, fmt.Errorf("proto: MaxFrameSize %d out of range 0..%d", l.MaxFrameSize, MaxFrameSizeLimit))
	}
	if l.MaxHeaders < 0 {
		errs = append(errs, fmt.Errorf("proto: MaxHeaders %d is negative", l.MaxHeaders))
	}
	if l.MaxHeaderName < 0 || l.MaxHeaderName > MaxHeaderNameLen {
		errs = append(errs, fmt.Errorf("proto: MaxHeaderName %d out of range 0..%d", l.MaxHeaderName, MaxHeaderNameLen))
	}
	return errors.Join(errs...)
}
