package legacy

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/simpleserver-go/simpleserver/proto"
)

// The three characters the format is built from.
const (
	prefix    = '$' // starts a message with headers
	headerSep = '|' // ends each header
	bodySep   = '%' // ends the headers, starts the body
	valueSep  = ':' // separates a header's name from its value
)

// Decode fills m from data: the bytes of one read from a legacy client,
// taken as one whole message as the original server did. m copies what it
// keeps, so data may be reused when Decode returns; a reused m does not
// allocate. lim may be nil for the defaults; its MaxHeaders and
// MaxHeaderName apply (MaxFrameSize does not: MaxMessageSize does). Any
// error is a *proto.ProtocolError (see the package doc for each case), and
// leaves m empty.
func Decode(m *proto.Message, data []byte, lim *proto.Limits) error {
	m.Reset()
	if err := decode(m, data, lim); err != nil {
		m.Reset()
		return err
	}
	return nil
}

func decode(m *proto.Message, data []byte, lim *proto.Limits) error {
	if len(data) > MaxMessageSize {
		return protoErr(proto.ErrFrameTooLarge, "legacy message of "+strconv.Itoa(len(data))+" bytes > "+strconv.Itoa(MaxMessageSize))
	}
	if !utf8.Valid(data) {
		return protoErr(ErrInvalidUTF8, "")
	}
	if len(data) == 0 || data[0] != prefix {
		// A raw send: the original README promises a headerless message.
		m.SetBody(data)
		return nil
	}
	rest := data[1:]
	i := bytes.IndexByte(rest, bodySep)
	if i < 0 {
		return protoErr(ErrNoBody, "")
	}
	head, body := rest[:i], rest[i+1:]
	if j := bytes.IndexByte(body, bodySep); j >= 0 {
		body = body[:j] // the original keeps only what is before a second '%'
	}
	maxHeaders, maxName := limits(lim)
	for len(head) > 0 {
		piece := head
		if k := bytes.IndexByte(head, headerSep); k >= 0 {
			piece, head = head[:k], head[k+1:]
		} else {
			head = nil
		}
		if len(piece) == 0 {
			continue // the original skips empty pieces
		}
		k := bytes.IndexByte(piece, valueSep)
		if k < 0 {
			return protoErr(ErrNoColon, strconv.Quote(string(piece)))
		}
		name, value := piece[:k], piece[k+1:]
		if j := bytes.IndexByte(value, valueSep); j >= 0 {
			value = value[:j] // the original keeps only what is before a second ':'
		}
		if len(name) == 0 || len(name) > maxName {
			return protoErr(proto.ErrBadHeaderName, "name length "+strconv.Itoa(len(name))+" not in 1.."+strconv.Itoa(maxName))
		}
		if m.NumHeaders() == maxHeaders {
			return protoErr(proto.ErrTooManyHeaders, "more than "+strconv.Itoa(maxHeaders))
		}
		m.AddHeaderBytes(name, value)
	}
	m.SetBody(body)
	return nil
}

// limits returns the header limits of lim, as proto's decoder applies them.
func limits(lim *proto.Limits) (maxHeaders, maxName int) {
	maxHeaders, maxName = proto.DefaultMaxHeaders, proto.DefaultMaxHeaderName
	if lim != nil {
		if lim.MaxHeaders > 0 {
			maxHeaders = lim.MaxHeaders
		}
		if lim.MaxHeaderName > 0 {
			maxName = min(lim.MaxHeaderName, proto.MaxHeaderNameLen)
		}
	}
	return maxHeaders, maxName
}
