package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/components/requestreply"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/handlers"
)

// ruleCommandSender sends rule commands with Watermill's request/reply
// component and waits for the handler's result.
type ruleCommandSender struct {
	bus     *cqrs.CommandBus
	backend requestreply.Backend[commands.RuleResult]
}

var _ handlers.RuleCommandSender = ruleCommandSender{}

// SendRuleCommand implements handlers.RuleCommandSender.
func (s ruleCommandSender) SendRuleCommand(ctx context.Context, cmd any) (commands.RuleResult, error) {
	reply, err := requestreply.SendWithReply(ctx, s.bus, s.backend, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return commands.RuleResult{}, fmt.Errorf("%w: %w", handlers.ErrNoReply, err)
		}

		return commands.RuleResult{}, fmt.Errorf("error sending rule command: %w", err)
	}

	if reply.Error != nil {
		var timeout requestreply.ReplyTimeoutError
		if errors.As(reply.Error, &timeout) {
			return commands.RuleResult{}, fmt.Errorf("%w: %w", handlers.ErrNoReply, reply.Error)
		}

		return commands.RuleResult{}, fmt.Errorf("error in rule command reply: %w", reply.Error)
	}

	return reply.HandlerResult, nil
}
