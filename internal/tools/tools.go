//go:build tools

// Package tools pins modules the repository needs before any package imports
// them, so parallel work does not race on go.mod.
package tools

import (
	_ "github.com/coder/websocket"
	_ "github.com/panjf2000/gnet/v2"
	_ "github.com/valyala/bytebufferpool"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sys/unix"
	_ "gonum.org/v1/plot"
)
