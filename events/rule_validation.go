package events

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a rule spec.
const (
	RuleNameMaxChars   = 200
	RuleSecondsMax     = 86400
	RuleGroupByMax     = 8
	RuleFieldsMax      = 64
	RuleFilterMaxChars = 255
)

// Severities.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Severities returns every severity a rule may have, highest first.
func Severities() []string {
	return []string{SeverityCritical, SeverityWarning, SeverityInfo}
}

// FieldIssue names one invalid field of a rule spec by its dotted path.
type FieldIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (i FieldIssue) String() string { return i.Field + ": " + i.Message }

var thresholdOperators = map[string]bool{">": true, ">=": true, "<": true, "<=": true, "==": true, "!=": true}

// Validate returns every problem of s, in field order; nil means valid.
func (s RuleSpec) Validate() []FieldIssue {
	var v validator

	switch n := utf8.RuneCountInString(s.Name); {
	case n == 0:
		v.add("name", "is required")
	case IsBlank(s.Name):
		v.add("name", "must not be blank")
	case n > RuleNameMaxChars:
		v.add("name", fmt.Sprintf("must be at most %d characters, got %d", RuleNameMaxChars, n))
	case strings.IndexFunc(s.Name, isControlExceptNUL) >= 0:
		// Names are shown in email subjects, Slack messages and the
		// dashboard, where a line break or an escape sequence would change
		// what is shown.
		v.add("name", "must not contain control characters, such as a line break or a tab")
	case !PrintableName(strings.ReplaceAll(s.Name, "\x00", "")):
		// Invisible and direction-changing characters, such as U+200B and
		// U+202E, would make two different names look alike.
		v.add("name", UnprintableReason(strings.ReplaceAll(s.Name, "\x00", "")))
	}

	switch s.Severity {
	case SeverityCritical, SeverityWarning, SeverityInfo:
	case "":
		v.add("severity", "is required")
	default:
		v.add("severity", fmt.Sprintf("must be one of critical, warning, info, got %q", s.Severity))
	}

	v.between("window_seconds", s.WindowSeconds, 1, RuleSecondsMax)
	v.between("cooldown_seconds", s.CooldownSeconds, 0, RuleSecondsMax)
	if s.AllowedLatenessSeconds != nil {
		v.between("allowed_lateness_seconds", *s.AllowedLatenessSeconds, 0, RuleSecondsMax)
	}

	s.Condition.validate(&v)
	s.rejectNUL(&v)

	return v.issues
}

// rejectNUL names every text field holding a NUL character, which
// PostgreSQL cannot store in JSONB.
func (s RuleSpec) rejectNUL(v *validator) {
	texts := map[string]string{"name": s.Name, "condition.event_type": s.Condition.EventType}
	if s.Condition.Filters != nil {
		texts["condition.filters.event_type"] = s.Condition.Filters.EventType
		texts["condition.filters.source"] = s.Condition.Filters.Source
	}

	for i, key := range s.Condition.GroupBy {
		texts[fmt.Sprintf("condition.group_by.%d", i)] = key
	}

	for i, field := range s.Condition.Fields {
		texts[fmt.Sprintf("condition.fields.%d", i)] = field
	}

	for _, field := range sortedKeys(texts) {
		if strings.ContainsRune(texts[field], 0) {
			v.add(field, "must not contain the NUL character (\\u0000)")
		}
	}
}

// isControlExceptNUL reports whether r is a control character other than
// NUL, which rejectNUL reports with its own message.
func isControlExceptNUL(r rune) bool {
	return r != 0 && unicode.IsControl(r)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}

	sort.Strings(keys)

	return keys
}

func (c Condition) validate(v *validator) {
	switch c.Type {
	case ConditionThreshold:
		c.validateThreshold(v)
		v.forbid(c.Type, "condition.event_type", c.EventType != "")
		v.forbid(c.Type, "condition.fields", c.Fields != nil)
		v.forbid(c.Type, "condition.max_drift_seconds", c.MaxDriftSeconds != nil)
	case ConditionRequiredFields:
		c.validateRequiredFields(v)
		c.forbidThreshold(v)
		v.forbid(c.Type, "condition.max_drift_seconds", c.MaxDriftSeconds != nil)
	case ConditionTimestampDrift:
		switch d := c.MaxDriftSeconds; {
		case d == nil:
			v.add("condition.max_drift_seconds", "is required")
		case math.IsNaN(*d) || math.IsInf(*d, 0) || *d <= 0:
			v.add("condition.max_drift_seconds", "must be a finite number greater than 0")
		}
		c.forbidThreshold(v)
		v.forbid(c.Type, "condition.event_type", c.EventType != "")
		v.forbid(c.Type, "condition.fields", c.Fields != nil)
	case "":
		v.add("condition.type", "is required")
	default:
		v.add("condition.type", fmt.Sprintf("must be one of threshold, required_fields, timestamp_drift, got %q", c.Type))
	}
}

func (c Condition) validateThreshold(v *validator) {
	switch c.Metric {
	case "count":
	case "":
		v.add("condition.metric", "is required")
	default:
		v.add("condition.metric", fmt.Sprintf("must be count, got %q", c.Metric))
	}

	// The spec stores an absent filter as "", so "" is not checked here.
	// The API handlers reject a filter sent as "".
	if c.Filters != nil && c.Filters.EventType != "" {
		v.eventName("condition.filters.event_type", c.Filters.EventType)
	}
	if c.Filters != nil && c.Filters.Source != "" {
		v.eventName("condition.filters.source", c.Filters.Source)
	}

	switch {
	case c.Operator == "":
		v.add("condition.operator", "is required")
	case !thresholdOperators[c.Operator]:
		v.add("condition.operator", fmt.Sprintf("must be one of >, >=, <, <=, ==, !=, got %q", c.Operator))
	}

	switch {
	case c.Value == nil:
		v.add("condition.value", "is required")
	case math.IsNaN(*c.Value) || math.IsInf(*c.Value, 0):
		v.add("condition.value", "must be a finite number")
	}

	if len(c.GroupBy) > RuleGroupByMax {
		v.add("condition.group_by", fmt.Sprintf("must have at most %d keys, got %d", RuleGroupByMax, len(c.GroupBy)))
	}

	seen := make(map[string]bool, len(c.GroupBy))
	for i, key := range c.GroupBy {
		field := fmt.Sprintf("condition.group_by.%d", i)
		switch {
		case seen[key]:
			v.add(field, fmt.Sprintf("repeats %q", key))
		case key == "source" || key == "event_type":
		case strings.HasPrefix(key, "payload.") && validPath(strings.TrimPrefix(key, "payload.")):
		default:
			v.add(field, fmt.Sprintf("must be source, event_type or payload.<dotted path>, got %q", key))
		}
		seen[key] = true
	}
}

func (c Condition) validateRequiredFields(v *validator) {
	if c.EventType == "" {
		v.add("condition.event_type", "is required")
	} else {
		v.eventName("condition.event_type", c.EventType)
	}

	switch {
	case len(c.Fields) == 0:
		v.add("condition.fields", "must list at least one dotted path")
	case len(c.Fields) > RuleFieldsMax:
		v.add("condition.fields", fmt.Sprintf("must list at most %d paths, got %d", RuleFieldsMax, len(c.Fields)))
	}

	for i, path := range c.Fields {
		if !validPath(path) {
			v.add(fmt.Sprintf("condition.fields.%d", i), fmt.Sprintf("must be a dotted path such as user.id, got %q", path))
		}
	}
}

func (c Condition) forbidThreshold(v *validator) {
	v.forbid(c.Type, "condition.metric", c.Metric != "")
	v.forbid(c.Type, "condition.filters", c.Filters != nil)
	v.forbid(c.Type, "condition.operator", c.Operator != "")
	v.forbid(c.Type, "condition.value", c.Value != nil)
	v.forbid(c.Type, "condition.group_by", c.GroupBy != nil)
}

// validPath reports whether path is dot-separated non-empty segments.
func validPath(path string) bool {
	if path == "" || utf8.RuneCountInString(path) > RuleFilterMaxChars {
		return false
	}

	for _, segment := range strings.Split(path, ".") {
		if segment == "" {
			return false
		}
	}

	return true
}

type validator struct {
	issues []FieldIssue
}

func (v *validator) add(field, message string) {
	v.issues = append(v.issues, FieldIssue{Field: field, Message: message})
}

func (v *validator) between(field string, value, lo, hi int) {
	if value < lo || value > hi {
		v.add(field, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, value))
	}
}

// eventName adds the reason that ingestion would reject value as an
// event_type or source, because a rule naming such a value matches no event.
// A value containing NUL is left to rejectNUL, which names it alone, as
// ingestion does.
func (v *validator) eventName(field, value string) {
	if strings.ContainsRune(value, 0) {
		return
	}

	if problem, message := CheckEventName(value); problem != NameValid {
		v.add(field, message)
	}
}

func (v *validator) forbid(conditionType, field string, present bool) {
	if present {
		v.add(field, fmt.Sprintf("is not allowed for condition type %s", conditionType))
	}
}
