// Package logging builds the JSON slog logger every process uses, and the
// adapter that routes Watermill's own logs through it.
package logging

import (
	"io"
	"log/slog"
)

// New returns a JSON logger writing to w at level and above. Lines logged
// with a context that carries a correlation id include it.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(contextHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}
