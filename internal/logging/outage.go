package logging

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Outage logs the failures of work that is tried again, such as a loop
// that reconnects or the requests that need a connection. The first
// failure goes at Warn, the failures after it at Debug, and the first
// success after them at Info. An outage of minutes then writes two lines
// at the default level instead of one at each try.
//
// It is safe for concurrent use, and Recovered costs one atomic load while
// nothing fails, so request handlers may call it on every request.
type Outage struct {
	failing atomic.Bool
}

// Failed logs msg with attrs, at Warn unless the previous attempt failed
// too.
func (o *Outage) Failed(ctx context.Context, logger *slog.Logger, msg string, attrs ...slog.Attr) {
	level := slog.LevelWarn
	if o.failing.Swap(true) {
		level = slog.LevelDebug
	}

	logger.LogAttrs(ctx, level, msg, attrs...)
}

// Recovered logs msg at Info when the attempts before it failed, and
// nothing otherwise.
func (o *Outage) Recovered(ctx context.Context, logger *slog.Logger, msg string) {
	if o.failing.Load() && o.failing.Swap(false) {
		logger.InfoContext(ctx, msg)
	}
}
