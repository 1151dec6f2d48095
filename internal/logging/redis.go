package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Redis adapts logger to go-redis's logger, which otherwise writes plain
// text lines to standard error. go-redis logs only problems, such as a
// failed dial or a connection that failed its health check, so its lines
// are written at Warn.
func Redis(logger *slog.Logger) *RedisAdapter {
	return &RedisAdapter{logger: logger}
}

// RedisAdapter is the go-redis logger that Redis returns.
type RedisAdapter struct {
	logger *slog.Logger
}

// Printf writes one go-redis message as a Warn line.
func (a *RedisAdapter) Printf(ctx context.Context, format string, args ...any) {
	message := strings.TrimSpace(fmt.Sprintf(format, args...))
	a.logger.WarnContext(ctx, "redis client: "+message)
}
