package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// concurrencyAttempts bounds how often a command without an expected
// version is retried after losing a race for the next stream version.
const concurrencyAttempts = 3

// decideFunc returns the event that takes state to version next, or a
// result that ends the command without an append. Both nil means nothing
// changes.
type decideFunc func(state RuleState, next int) (events.Event, *RuleResult)

// ruleStore loads a rule's stream, lets a command decide, and appends the
// decision at the next version, all in one transaction.
type ruleStore struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	now    func() time.Time
}

func newRuleStore(pool *pgxpool.Pool, logger *slog.Logger) ruleStore {
	if pool == nil || logger == nil {
		panic("commands: rule handlers need a pool and a logger")
	}

	return ruleStore{pool: pool, logger: logger, now: time.Now}
}

// update applies decide to the rule named by cmd. A lost race for the
// next version is retried from the load unless cmd expects a version, in
// which case the rule has moved past it.
func (s ruleStore) update(ctx context.Context, cmd RuleCommand, decide decideFunc) (RuleResult, error) {
	for attempt := 1; ; attempt++ {
		result, err := s.tryUpdate(ctx, cmd, decide)
		if err == nil {
			return result, nil
		}

		if !errors.Is(err, eventlog.ErrConcurrency) || attempt == concurrencyAttempts {
			return RuleResult{}, fmt.Errorf("error handling command %q for rule %q: %w", cmd.CommandID, cmd.RuleID, err)
		}

		if expected := cmd.expects(); len(expected) > 0 {
			return *rejected(OutcomeVersionMismatch,
				"rule %s changed after version %s", cmd.RuleID, versionList(expected)), nil
		}

		s.logger.DebugContext(ctx, "rules: lost a race for the next version, retrying",
			slog.String("command_id", cmd.CommandID), slog.String("rule_id", cmd.RuleID.String()))
	}
}

func (s ruleStore) tryUpdate(ctx context.Context, cmd RuleCommand, decide decideFunc) (RuleResult, error) {
	var result RuleResult

	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		records, err := LoadRuleStream(ctx, tx, cmd.RuleID)
		if err != nil {
			return err
		}

		if state, ok := appliedBefore(records, cmd.CommandID); ok {
			result = applied(state)
			return nil
		}

		if s.now().After(cmd.ExpiresAt) {
			result = *rejected(OutcomeExpired, "command %s expired at %s before it was handled",
				cmd.CommandID, cmd.ExpiresAt.Format(time.RFC3339Nano))
			return nil
		}

		state := FoldRule(records)
		if expected := cmd.expects(); len(expected) > 0 && state.Exists() && !slices.Contains(expected, state.Version) {
			result = *rejected(OutcomeVersionMismatch,
				"rule %s is at version %d, not %s", cmd.RuleID, state.Version, versionList(expected))
			return nil
		}

		event, rejection := decide(state, state.Version+1)
		switch {
		case rejection != nil:
			result = *rejection
			return nil
		case event == nil:
			result = applied(state)
			return nil
		}

		state, err = s.append(ctx, tx, cmd, state, event)
		if err != nil {
			return err
		}

		result = applied(state)

		return nil
	})

	return result, err
}

func (s ruleStore) append(
	ctx context.Context,
	tx pgx.Tx,
	cmd RuleCommand,
	state RuleState,
	event events.Event,
) (RuleState, error) {
	record := RuleRecord{Event: event, Envelope: events.Envelope{
		CorrelationID: cmd.CorrelationID,
		CausationID:   cmd.CommandID,
		Actor:         cmd.Actor,
		// PostgreSQL keeps microseconds, so the reply matches what the
		// rules table stores.
		RecordedAt:    s.now().UTC().Truncate(time.Microsecond),
		StreamID:      cmd.RuleID.String(),
		StreamVersion: state.Version + 1,
	}}

	msg, err := events.NewMessage(event, record.Envelope)
	if err != nil {
		return state, err
	}

	if err := eventlog.Append(ctx, tx, msg); err != nil {
		return state, err
	}

	s.logger.InfoContext(ctx, "rules: change appended",
		slog.String("event", event.EventName()),
		slog.String("rule_id", cmd.RuleID.String()),
		slog.Int("version", record.Envelope.StreamVersion),
		slog.String("command_id", cmd.CommandID),
		slog.String("actor", cmd.Actor))

	return state.Apply(record), nil
}

// appliedBefore returns the state right after the record that command id
// caused, when a previous delivery of the command appended one.
func appliedBefore(records []RuleRecord, commandID string) (RuleState, bool) {
	var state RuleState
	for _, record := range records {
		state = state.Apply(record)
		if record.Envelope.CausationID == commandID {
			return state, true
		}
	}

	return RuleState{}, false
}

func applied(state RuleState) RuleResult {
	if !state.Exists() {
		return RuleResult{Outcome: OutcomeApplied, Version: state.Version}
	}

	return RuleResult{Outcome: OutcomeApplied, Version: state.Version, Rule: &state}
}

func notFound(cmd RuleCommand) *RuleResult {
	return rejected(OutcomeNotFound, "rule %s not found", cmd.RuleID)
}

func invalid(issues []events.FieldIssue) *RuleResult {
	return &RuleResult{Outcome: OutcomeInvalid, Message: "the rule is invalid", Issues: issues}
}

// versionList formats versions as "3" or "one of 3, 4".
func versionList(versions []int) string {
	if len(versions) == 1 {
		return strconv.Itoa(versions[0])
	}

	formatted := make([]string, len(versions))
	for i, version := range versions {
		formatted[i] = strconv.Itoa(version)
	}

	return "one of " + strings.Join(formatted, ", ")
}

// logRejected logs a command that was handled without being applied. The
// API returns a 4xx for such an outcome, but a command sent by any other
// producer would otherwise leave no trace.
func (s ruleStore) logRejected(ctx context.Context, cmd RuleCommand, result RuleResult, err error) {
	if err != nil || result.Outcome == OutcomeApplied {
		return
	}

	attrs := []slog.Attr{
		slog.String("command_id", cmd.CommandID), slog.String("rule_id", cmd.RuleID.String()),
		slog.String("outcome", result.Outcome), slog.String("reason", result.Message),
	}
	if len(result.Issues) > 0 {
		issues := make([]string, len(result.Issues))
		for i, issue := range result.Issues {
			issues[i] = issue.Field + ": " + issue.Message
		}
		attrs = append(attrs, slog.Any("issues", issues))
	}

	s.logger.LogAttrs(ctx, slog.LevelInfo, "rules: command not applied", attrs...)
}
