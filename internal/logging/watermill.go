package logging

import (
	"context"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// Watermill adapts logger for Watermill, lowering its chatty Info messages
// (subscriptions starting, handlers added) to Debug.
//
// Watermill's own slog adapter turns the fields of every message into
// arguments before slog checks the level. The router and the subscribers
// log several Trace and Debug messages per message handled, so that work,
// done for lines that are then dropped, showed in the worker's allocation
// profile. This adapter checks the level first.
//
// Its Error lines that repeat the same message and error within
// repeatWindow are dropped, and the next one written counts them in
// "repeated". While Redis is down, each stream subscriber logs a failed
// read about twice a second, which made 390 Error lines in a 40-second
// outage of a worker.
func Watermill(logger *slog.Logger) watermill.LoggerAdapter {
	return &watermillAdapter{
		logger:  logger.With(slog.String("component", "watermill")),
		repeats: newRepeats(),
	}
}

type watermillAdapter struct {
	logger  *slog.Logger
	repeats *repeats
}

func (a *watermillAdapter) Error(msg string, err error, fields watermill.LogFields) {
	if !a.logger.Enabled(context.Background(), slog.LevelError) {
		return
	}

	errText := "<nil>"
	if err != nil {
		errText = err.Error()
	}

	write, dropped := a.repeats.admit(msg+"\x00"+errText, time.Now())
	if !write {
		return
	}

	if dropped > 0 {
		a.log(slog.LevelError, msg, fields, slog.Any("error", err), slog.Int("repeated", dropped))
		return
	}

	a.log(slog.LevelError, msg, fields, slog.Any("error", err))
}

// Info logs at Debug, because Watermill's Info messages describe its own
// lifecycle rather than work done.
func (a *watermillAdapter) Info(msg string, fields watermill.LogFields) {
	a.log(slog.LevelDebug, msg, fields)
}

func (a *watermillAdapter) Debug(msg string, fields watermill.LogFields) {
	a.log(slog.LevelDebug, msg, fields)
}

func (a *watermillAdapter) Trace(msg string, fields watermill.LogFields) {
	a.log(watermill.LevelTrace, msg, fields)
}

func (a *watermillAdapter) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return &watermillAdapter{logger: a.logger.With(fieldArgs(fields)...), repeats: a.repeats}
}

func (a *watermillAdapter) log(level slog.Level, msg string, fields watermill.LogFields, extra ...slog.Attr) {
	// Watermill passes no context, so none is used here either.
	ctx := context.Background()
	if !a.logger.Enabled(ctx, level) {
		return
	}

	attrs := make([]slog.Attr, 0, len(fields)+len(extra))
	for key, value := range fields {
		attrs = append(attrs, slog.Any(key, value))
	}

	a.logger.LogAttrs(ctx, level, msg, append(attrs, extra...)...)
}

func fieldArgs(fields watermill.LogFields) []any {
	args := make([]any, 0, len(fields))
	for key, value := range fields {
		args = append(args, slog.Any(key, value))
	}

	return args
}
