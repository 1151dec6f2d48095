package handlers

import (
	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// Rule bodies accept the members of a rule response that are not inputs
// (rule_id, version, created_at and updated_at), so a client can read a
// rule, change a field and send the whole object back. They change nothing,
// except that a rule_id naming another rule than the path is rejected.

// ruleIDIssues returns an issue when a replace or patch body carries a
// rule_id other than the one in the path, because the client then most
// likely meant to change that other rule.
func ruleIDIssues(body oas.OptUUID, path uuid.UUID) []events.FieldIssue {
	id, ok := body.Get()
	if !ok || id == path {
		return nil
	}

	return []events.FieldIssue{{
		Field:   "rule_id",
		Message: "must equal the id in the path, " + path.String() + ", or be left out; got " + id.String(),
	}}
}

// withoutReadOnlyMembers returns patch without the members of a rule
// response that are not inputs, and whether it had any of them.
func withoutReadOnlyMembers(patch oas.RulePatch) (oas.RulePatch, bool) {
	had := patch.RuleID.Set || patch.Version.Set || patch.CreatedAt.Set || patch.UpdatedAt.Set

	patch.RuleID = oas.OptUUID{}
	patch.Version = oas.OptInt{}
	patch.CreatedAt = oas.OptDateTime{}
	patch.UpdatedAt = oas.OptDateTime{}

	return patch, had
}
