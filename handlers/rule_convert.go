package handlers

import (
	"strconv"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// specFromInput returns the spec a create or replace request describes,
// with the defaults of the optional fields applied.
func specFromInput(in *oas.RuleInput) events.RuleSpec {
	spec := events.RuleSpec{
		Name:            in.Name,
		Enabled:         in.Enabled.Or(true),
		Severity:        string(in.Severity),
		WindowSeconds:   in.WindowSeconds,
		CooldownSeconds: in.CooldownSeconds.Or(0),
		Condition:       conditionFromOAS(in.Condition),
	}

	if v, ok := in.AllowedLatenessSeconds.Get(); ok {
		spec.AllowedLatenessSeconds = &v
	}

	return spec
}

func conditionFromOAS(in oas.RuleCondition) events.Condition {
	c := events.Condition{
		Type:      string(in.Type),
		Metric:    string(in.Metric.Or("")),
		Operator:  string(in.Operator.Or("")),
		GroupBy:   in.GroupBy,
		EventType: in.EventType.Or(""),
		Fields:    in.Fields,
	}

	if filters, ok := in.Filters.Get(); ok {
		c.Filters = &events.Filters{EventType: filters.EventType.Or(""), Source: filters.Source.Or("")}
	}

	if v, ok := in.Value.Get(); ok {
		c.Value = &v
	}

	if v, ok := in.MaxDriftSeconds.Get(); ok {
		c.MaxDriftSeconds = &v
	}

	return c
}

func ruleToOAS(state commands.RuleState) oas.Rule {
	spec := state.Spec
	rule := oas.Rule{
		RuleID:          state.RuleID,
		Name:            spec.Name,
		Enabled:         spec.Enabled,
		Severity:        oas.Severity(spec.Severity),
		WindowSeconds:   spec.WindowSeconds,
		CooldownSeconds: spec.CooldownSeconds,
		Condition:       conditionToOAS(spec.Condition),
		Version:         state.Version,
		CreatedAt:       state.CreatedAt.UTC(),
		UpdatedAt:       state.UpdatedAt.UTC(),
	}

	if spec.AllowedLatenessSeconds != nil {
		rule.AllowedLatenessSeconds = oas.NewOptInt(*spec.AllowedLatenessSeconds)
	}

	return rule
}

func conditionToOAS(c events.Condition) oas.RuleCondition {
	out := oas.RuleCondition{
		Type:    oas.RuleConditionType(c.Type),
		GroupBy: c.GroupBy,
		Fields:  c.Fields,
	}

	if c.Metric != "" {
		out.Metric = oas.NewOptRuleConditionMetric(oas.RuleConditionMetric(c.Metric))
	}

	if c.Operator != "" {
		out.Operator = oas.NewOptRuleConditionOperator(oas.RuleConditionOperator(c.Operator))
	}

	if c.EventType != "" {
		out.EventType = oas.NewOptString(c.EventType)
	}

	if c.Filters != nil {
		var filters oas.RuleFilters
		if c.Filters.EventType != "" {
			filters.EventType = oas.NewOptString(c.Filters.EventType)
		}
		if c.Filters.Source != "" {
			filters.Source = oas.NewOptString(c.Filters.Source)
		}
		out.Filters = oas.NewOptRuleFilters(filters)
	}

	if c.Value != nil {
		out.Value = oas.NewOptFloat64(*c.Value)
	}

	if c.MaxDriftSeconds != nil {
		out.MaxDriftSeconds = oas.NewOptFloat64(*c.MaxDriftSeconds)
	}

	return out
}

// etag returns the entity tag of a rule version.
func etag(version int) string {
	return strconv.Quote(strconv.Itoa(version))
}
