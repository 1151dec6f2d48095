package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-faster/jx"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// GetRuleHistory implements oas.Handler. It reads the rule's stream from
// the log, not the rules table, so it answers after a deletion and shows
// every version.
func (a *API) GetRuleHistory(ctx context.Context, params oas.GetRuleHistoryParams) ([]oas.RuleChange, error) {
	records, err := commands.LoadRuleStream(ctx, a.pool, params.RuleID)
	if err != nil {
		return nil, err
	}

	if len(records) == 0 {
		return nil, Errorf(http.StatusNotFound, "Rule not found")
	}

	history := make([]oas.RuleChange, 0, len(records))
	var before commands.RuleState

	for _, record := range records {
		after := before.Apply(record)
		change, err := ruleChange(record, before, after)
		if err != nil {
			return nil, fmt.Errorf("error describing version %d of rule %q: %w", after.Version, params.RuleID, err)
		}

		history = append(history, change)
		before = after
	}

	return history, nil
}

func ruleChange(record commands.RuleRecord, before, after commands.RuleState) (oas.RuleChange, error) {
	change := oas.RuleChange{
		Version:    after.Version,
		Changes:    []oas.FieldChange{},
		RecordedAt: record.Envelope.RecordedAt.UTC(),
		Actor:      record.Envelope.Actor,
	}

	switch record.Event.(type) {
	case events.RuleCreated:
		change.Change = oas.RuleChangeChangeCreated
	case events.RuleReplaced:
		change.Change = oas.RuleChangeChangeReplaced
	case events.RulePatched:
		change.Change = oas.RuleChangeChangePatched
	case events.RuleDeleted:
		change.Change = oas.RuleChangeChangeDeleted
		return change, nil
	}

	var old map[string]json.RawMessage
	if before.Version > 0 {
		var err error
		if old, err = flattenSpec(before.Spec); err != nil {
			return change, err
		}
	}

	current, err := flattenSpec(after.Spec)
	if err != nil {
		return change, err
	}

	change.Changes = diffFields(old, current)

	return change, nil
}

// diffFields lists every field whose value differs between old and
// current, sorted by path.
func diffFields(old, current map[string]json.RawMessage) []oas.FieldChange {
	var fields []string
	for field := range old {
		fields = append(fields, field)
	}
	for field := range current {
		if _, ok := old[field]; !ok {
			fields = append(fields, field)
		}
	}
	slices.Sort(fields)

	changes := []oas.FieldChange{}
	for _, field := range fields {
		if bytes.Equal(old[field], current[field]) {
			continue
		}

		changes = append(changes, oas.FieldChange{Field: field, Old: jx.Raw(old[field]), New: jx.Raw(current[field])})
	}

	return changes
}

// flattenSpec returns the spec's JSON members by dotted path. Objects are
// walked into; arrays and scalars are leaves.
func flattenSpec(spec events.RuleSpec) (map[string]json.RawMessage, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}

	fields := make(map[string]json.RawMessage)
	if err := flattenInto(fields, "", data); err != nil {
		return nil, err
	}

	return fields, nil
}

func flattenInto(fields map[string]json.RawMessage, prefix string, data json.RawMessage) error {
	var object map[string]json.RawMessage
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &object) != nil {
		fields[prefix] = data
		return nil
	}

	for key, value := range object {
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}

		if err := flattenInto(fields, path, value); err != nil {
			return err
		}
	}

	return nil
}
