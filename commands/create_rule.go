package commands

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
)

// CreateRuleHandlerName names the command handler and therefore its Redis
// consumer group. Renaming it starts a new group that reads the stream from
// its first entry still in Redis.
const CreateRuleHandlerName = "CreateRule"

// CreateRule creates a rule at version 1 under the id the API chose.
type CreateRule struct {
	RuleCommand
	Spec events.RuleSpec `json:"spec"`
}

// CreateRuleHandler appends RuleCreated to a new rule stream.
type CreateRuleHandler struct {
	store ruleStore
}

// NewCreateRuleHandler returns a handler writing to pool.
func NewCreateRuleHandler(pool *pgxpool.Pool, logger *slog.Logger) *CreateRuleHandler {
	return &CreateRuleHandler{store: newRuleStore(pool, logger)}
}

// Handle validates the spec and appends RuleCreated unless the stream
// already has records.
func (h *CreateRuleHandler) Handle(ctx context.Context, cmd *CreateRule) (RuleResult, error) {
	result, err := h.handle(ctx, cmd)
	h.store.logRejected(ctx, cmd.RuleCommand, result, err)

	return result, err
}

func (h *CreateRuleHandler) handle(ctx context.Context, cmd *CreateRule) (RuleResult, error) {
	if issues := cmd.Spec.Validate(); len(issues) > 0 {
		return *invalid(issues), nil
	}

	return h.store.update(ctx, cmd.RuleCommand, func(state RuleState, next int) (events.Event, *RuleResult) {
		if state.Version > 0 {
			return nil, rejected(OutcomeExists, "rule %s already exists", cmd.RuleID)
		}

		return events.RuleCreated{RuleID: cmd.RuleID, Version: next, Spec: cmd.Spec}, nil
	})
}
