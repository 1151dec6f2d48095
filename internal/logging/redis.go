package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Redis adapts logger to go-redis's logger, which otherwise writes plain
// text lines to standard error. go-redis logs only problems, such as a
// failed dial or a connection that failed its health check, so its lines
// are written at Warn. A message that repeats within repeatWindow is
// dropped, and the next one written counts the drops in "repeated": while
// Redis is down, each command that cannot dial logs the same line.
func Redis(logger *slog.Logger) *RedisAdapter {
	return &RedisAdapter{logger: logger, repeats: newRepeats()}
}

// RedisAdapter is the go-redis logger that Redis returns.
type RedisAdapter struct {
	logger  *slog.Logger
	repeats *repeats
}

// Printf writes one go-redis message as a Warn line.
func (a *RedisAdapter) Printf(ctx context.Context, format string, args ...any) {
	if !a.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}

	message := "redis client: " + strings.TrimSpace(fmt.Sprintf(format, args...))
	write, dropped := a.repeats.admit(message, time.Now())
	if !write {
		return
	}

	if dropped > 0 {
		a.logger.WarnContext(ctx, message, slog.Int("repeated", dropped))
		return
	}

	a.logger.WarnContext(ctx, message)
}
