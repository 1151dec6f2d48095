package commands

import (
	"context"
	"log/slog"
	"reflect"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
)

// ReplaceRuleHandlerName names the command handler and therefore its Redis
// consumer group. Renaming it starts a new group that reads the stream from
// its first entry still in Redis.
const ReplaceRuleHandlerName = "ReplaceRule"

// ReplaceRule replaces the whole spec of a rule (PUT).
type ReplaceRule struct {
	RuleCommand
	Spec events.RuleSpec `json:"spec"`
}

// ReplaceRuleHandler appends RuleReplaced to a rule stream.
type ReplaceRuleHandler struct {
	store ruleStore
}

// NewReplaceRuleHandler returns a handler writing to pool.
func NewReplaceRuleHandler(pool *pgxpool.Pool, logger *slog.Logger) *ReplaceRuleHandler {
	return &ReplaceRuleHandler{store: newRuleStore(pool, logger)}
}

// Handle validates the spec and appends RuleReplaced. A spec equal to the
// current one appends nothing, so repeating a PUT keeps the version.
func (h *ReplaceRuleHandler) Handle(ctx context.Context, cmd *ReplaceRule) (RuleResult, error) {
	result, err := h.handle(ctx, cmd)
	h.store.logRejected(ctx, cmd.RuleCommand, result, err)

	return result, err
}

func (h *ReplaceRuleHandler) handle(ctx context.Context, cmd *ReplaceRule) (RuleResult, error) {
	if issues := cmd.Spec.Validate(); len(issues) > 0 {
		return *invalid(issues), nil
	}

	return h.store.update(ctx, cmd.RuleCommand, func(state RuleState, next int) (events.Event, *RuleResult) {
		if !state.Exists() {
			return nil, notFound(cmd.RuleCommand)
		}

		if reflect.DeepEqual(state.Spec, cmd.Spec) {
			return nil, nil
		}

		return events.RuleReplaced{RuleID: cmd.RuleID, Version: next, Spec: cmd.Spec}, nil
	})
}
