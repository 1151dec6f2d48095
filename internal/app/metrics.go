package app

import (
	"log/slog"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/telemetry"
	"github.com/eventpulse/eventpulse/projections/notifier"
)

// commandHandlerNames are the handlers that newCommandHandlers adds, each
// reading the stream of the command of the same name.
var commandHandlerNames = []string{
	commands.IngestEventsHandlerName,
	commands.CreateRuleHandlerName,
	commands.ReplaceRuleHandlerName,
	commands.PatchRuleHandlerName,
	commands.DeleteRuleHandlerName,
}

// projectorNames returns the consumer group of every projector the worker
// runs: Projectors and the notifier.
func projectorNames(logger *slog.Logger) []string {
	projectors := Projectors(logger, nil)
	names := make([]string, 0, len(projectors)+1)
	for _, projector := range projectors {
		names = append(names, projector.Name())
	}

	return append(names, notifier.Name)
}

// commandStreams returns each command handler with the stream it reads.
func commandStreams(streamPrefix string) []telemetry.CommandStream {
	streams := make([]telemetry.CommandStream, 0, len(commandHandlerNames))
	for _, handler := range commandHandlerNames {
		streams = append(streams, telemetry.CommandStream{Handler: handler, Stream: bus.CommandStream(streamPrefix, handler)})
	}

	return streams
}
