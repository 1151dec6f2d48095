package commands

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
)

// DeleteRuleHandlerName names the command handler and therefore its Redis
// consumer group. Renaming it starts a new group that reads the stream from
// its first entry still in Redis.
const DeleteRuleHandlerName = "DeleteRule"

// DeleteRule deletes a rule. Its stream stays in the log.
type DeleteRule struct {
	RuleCommand
}

// DeleteRuleHandler appends RuleDeleted to a rule stream.
type DeleteRuleHandler struct {
	store ruleStore
}

// NewDeleteRuleHandler returns a handler writing to pool.
func NewDeleteRuleHandler(pool *pgxpool.Pool, logger *slog.Logger) *DeleteRuleHandler {
	return &DeleteRuleHandler{store: newRuleStore(pool, logger)}
}

// Handle appends RuleDeleted to a rule that exists.
func (h *DeleteRuleHandler) Handle(ctx context.Context, cmd *DeleteRule) (RuleResult, error) {
	result, err := h.handle(ctx, cmd)
	h.store.logRejected(ctx, cmd.RuleCommand, result, err)

	return result, err
}

func (h *DeleteRuleHandler) handle(ctx context.Context, cmd *DeleteRule) (RuleResult, error) {
	return h.store.update(ctx, cmd.RuleCommand, func(state RuleState, next int) (events.Event, *RuleResult) {
		if !state.Exists() {
			return nil, notFound(cmd.RuleCommand)
		}

		return events.RuleDeleted{RuleID: cmd.RuleID, Version: next}, nil
	})
}
