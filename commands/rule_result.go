package commands

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// Outcomes of a rule command.
const (
	// OutcomeApplied: the change is in the log, or nothing needed to
	// change. A command delivered again returns the outcome of its first
	// delivery.
	OutcomeApplied = "applied"
	// OutcomeInvalid: the resulting spec is invalid; Issues names each
	// field.
	OutcomeInvalid = "invalid"
	// OutcomeNotFound: the rule does not exist or is deleted.
	OutcomeNotFound = "not_found"
	// OutcomeExists: a rule with the id already exists.
	OutcomeExists = "exists"
	// OutcomeVersionMismatch: the rule is not at the expected version.
	OutcomeVersionMismatch = "version_mismatch"
	// OutcomeExpired: the command arrived after its caller stopped
	// waiting, so it was dropped without effect.
	OutcomeExpired = "expired"
)

// RuleResult is what a rule command handler replies to the API.
type RuleResult struct {
	Outcome string              `json:"outcome"`
	Message string              `json:"message,omitempty"`
	Issues  []events.FieldIssue `json:"issues,omitempty"`
	// Version is the rule's version after the command.
	Version int `json:"version,omitempty"`
	// Rule is the state after the command; nil after a deletion and for
	// outcomes other than OutcomeApplied.
	Rule *RuleState `json:"rule,omitempty"`
}

// RuleCommand is the part every rule command shares.
type RuleCommand struct {
	// CommandID identifies the command; a redelivered command has the
	// same id and is applied at most once.
	CommandID     string    `json:"command_id"`
	CorrelationID string    `json:"correlation_id"`
	Actor         string    `json:"actor"`
	RuleID        uuid.UUID `json:"rule_id"`
	// ExpectedVersion, when above 0, is the version the caller saw
	// (If-Match); any other current version rejects the command.
	ExpectedVersion int `json:"expected_version,omitempty"`
	// ExpectedVersions, when set, lists every version an If-Match list
	// names, and the command applies at any of them. ExpectedVersion then
	// holds the first, for workers that read only that member.
	ExpectedVersions []int `json:"expected_versions,omitempty"`
	// ExpiresAt is when the caller stops waiting for the reply; a command
	// handled later is dropped.
	ExpiresAt time.Time `json:"expires_at"`
}

// expects returns the versions the command may apply at, none for any.
func (c RuleCommand) expects() []int {
	switch {
	case len(c.ExpectedVersions) > 0:
		return c.ExpectedVersions
	case c.ExpectedVersion > 0:
		return []int{c.ExpectedVersion}
	default:
		return nil
	}
}

// Correlation returns the id of the request that sent the command, which
// the command processor adds to every log line of its handling.
func (c RuleCommand) Correlation() string { return c.CorrelationID }

func rejected(outcome, format string, args ...any) *RuleResult {
	return &RuleResult{Outcome: outcome, Message: fmt.Sprintf(format, args...)}
}
