package logging

import (
	"context"
	"log/slog"
)

type correlationKey struct{}

// correlationContext carries a correlation id. It costs one allocation,
// where context.WithValue costs two: the context and the string boxed in
// an interface. Every request and every applied log record creates one.
type correlationContext struct {
	context.Context
	id string
}

func (c *correlationContext) Value(key any) any {
	if _, ok := key.(correlationKey); ok {
		return c
	}

	return c.Context.Value(key)
}

// WithCorrelationID returns ctx carrying id, which every log line written
// with that context includes as correlation_id.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}

	return &correlationContext{Context: ctx, id: id}
}

// CorrelationID returns the id carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	c, _ := ctx.Value(correlationKey{}).(*correlationContext)
	if c == nil {
		return ""
	}

	return c.id
}

// contextHandler adds the correlation id of the record's context.
type contextHandler struct {
	slog.Handler
}

func (h contextHandler) Handle(ctx context.Context, record slog.Record) error {
	if id := CorrelationID(ctx); id != "" {
		record.AddAttrs(slog.String("correlation_id", id))
	}

	return h.Handler.Handle(ctx, record)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
