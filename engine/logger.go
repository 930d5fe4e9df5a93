package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// gnetLogger routes gnet's own logging into the server's slog.Logger, one
// level down for Info (gnet's Info lines are engine chatter), so that gnet
// never writes to the user's output on its own.
// Once Stop has shut the listener (quiet), gnet's errors about the failing
// accept are expected and logged at debug level only.
type gnetLogger struct {
	l     *slog.Logger
	quiet *atomic.Bool
}

func (g gnetLogger) logf(level slog.Level, format string, args []any) {
	if g.quiet != nil && g.quiet.Load() {
		level = slog.LevelDebug
	}
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, "gnet: "+fmt.Sprintf(format, args...))
	}
}

// Debugf, Infof, Warnf, Errorf and Fatalf implement gnet's logging.Logger.
func (g gnetLogger) Debugf(format string, args ...any) { g.logf(slog.LevelDebug, format, args) }
func (g gnetLogger) Infof(format string, args ...any)  { g.logf(slog.LevelDebug, format, args) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.logf(slog.LevelWarn, format, args) }
func (g gnetLogger) Errorf(format string, args ...any) { g.logf(slog.LevelError, format, args) }
func (g gnetLogger) Fatalf(format string, args ...any) { g.logf(slog.LevelError, format, args) }

// debugOn reports whether debug lines are logged. Per-connection debug
// lines check it first: their arguments (the address as a string, the
// boxed id) would otherwise be allocated for every connection and dropped.
func (s *Server) debugOn() bool { return s.log.Enabled(context.Background(), slog.LevelDebug) }
