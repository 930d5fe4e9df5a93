package legacy

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Size returns how many bytes Append writes for m, representable or not.
func Size(m *proto.Message) int {
	n := 2 + len(m.Body()) // "$" and "%"
	for i := range m.NumHeaders() {
		name, value := m.HeaderAt(i)
		n += len(name) + len(value) + 2 // ":" and "|"
	}
	return n
}

// Check returns the error Append would return for m: nil when an original
// client reads m back as sent (a ":" in a header value aside, see the
// package doc), else an error wrapping ErrUnrepresentable.
func Check(m *proto.Message) error {
	if n := Size(m); n > MaxMessageSize {
		return unrepresentable(strconv.Itoa(n) + " bytes encoded > " + strconv.Itoa(MaxMessageSize))
	}
	for i := range m.NumHeaders() {
		name, value := m.HeaderAt(i)
		if len(name) == 0 || len(name) > proto.MaxHeaderNameLen {
			return unrepresentable(fmt.Sprintf("header %d: name length %d not in 1..%d", i, len(name), proto.MaxHeaderNameLen))
		}
		if k := bytes.IndexAny(name, "%|:"); k >= 0 {
			return unrepresentable(fmt.Sprintf("header %d: name %q contains %q", i, name, name[k]))
		}
		if k := bytes.IndexAny(value, "%|"); k >= 0 {
			return unrepresentable(fmt.Sprintf("header %d (%q): value contains %q", i, name, value[k]))
		}
		if !utf8.Valid(name) || !utf8.Valid(value) {
			return unrepresentable(fmt.Sprintf("header %d: not valid UTF-8", i))
		}
	}
	body := m.Body()
	if bytes.IndexByte(body, bodySep) >= 0 {
		return unrepresentable("body contains '%'")
	}
	if !utf8.Valid(body) {
		return unrepresentable("body is not valid UTF-8")
	}
	return nil
}

func unrepresentable(detail string) error {
	return fmt.Errorf("%w: %s", ErrUnrepresentable, detail)
}

// Append appends m in the legacy format to dst and returns the extended
// slice: "$", then name ":" value "|" for each header, "%", then the body.
// When m cannot be represented (see Check) it returns dst unchanged and an
// error wrapping ErrUnrepresentable. It does not allocate when dst has room.
func Append(dst []byte, m *proto.Message) ([]byte, error) {
	if err := Check(m); err != nil {
		return dst, err
	}
	dst = append(dst, prefix)
	for i := range m.NumHeaders() {
		name, value := m.HeaderAt(i)
		dst = append(dst, name...)
		dst = append(dst, valueSep)
		dst = append(dst, value...)
		dst = append(dst, headerSep)
	}
	dst = append(dst, bodySep)
	return append(dst, m.Body()...), nil
}
