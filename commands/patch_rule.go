package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
)

// PatchRuleHandlerName names the command handler and therefore its Redis
// consumer group. Renaming it starts a new group that reads the stream from
// its first entry still in Redis.
const PatchRuleHandlerName = "PatchRule"

// PatchRule applies a JSON merge patch (RFC 7396) to a rule's spec.
type PatchRule struct {
	RuleCommand
	// Patch is a JSON object; it is applied to the spec the rule has when
	// the command is handled.
	Patch json.RawMessage `json:"patch"`
}

// PatchRuleHandler appends RulePatched to a rule stream.
type PatchRuleHandler struct {
	store ruleStore
}

// NewPatchRuleHandler returns a handler writing to pool.
func NewPatchRuleHandler(pool *pgxpool.Pool, logger *slog.Logger) *PatchRuleHandler {
	return &PatchRuleHandler{store: newRuleStore(pool, logger)}
}

// Handle merges the patch into the current spec, validates the result and
// appends RulePatched with the patch and the resulting spec. A patch that
// changes nothing appends nothing.
func (h *PatchRuleHandler) Handle(ctx context.Context, cmd *PatchRule) (RuleResult, error) {
	result, err := h.handle(ctx, cmd)
	h.store.logRejected(ctx, cmd.RuleCommand, result, err)

	return result, err
}

func (h *PatchRuleHandler) handle(ctx context.Context, cmd *PatchRule) (RuleResult, error) {
	var patch map[string]any
	if err := json.Unmarshal(cmd.Patch, &patch); err != nil || patch == nil {
		return *rejected(OutcomeInvalid, "the patch must be a JSON object"), nil
	}

	if len(patch) == 0 {
		return *rejected(OutcomeInvalid, "the patch is empty; send at least one field to change"), nil
	}

	return h.store.update(ctx, cmd.RuleCommand, func(state RuleState, next int) (events.Event, *RuleResult) {
		if !state.Exists() {
			return nil, notFound(cmd.RuleCommand)
		}

		spec, issues := MergeRulePatch(state.Spec, patch)
		if len(issues) > 0 {
			return nil, invalid(issues)
		}

		if reflect.DeepEqual(state.Spec, spec) {
			return nil, nil
		}

		return events.RulePatched{RuleID: cmd.RuleID, Version: next, Patch: cmd.Patch, Spec: spec}, nil
	})
}

// MergeRulePatch applies patch to spec as RFC 7396 describes and returns
// the resulting spec with every problem it has. A member the patch removes
// takes its default: enabled is true, cooldown_seconds is 0, and the other
// optional members are unset.
func MergeRulePatch(spec events.RuleSpec, patch map[string]any) (events.RuleSpec, []events.FieldIssue) {
	var target map[string]any
	data, _ := json.Marshal(spec)
	_ = json.Unmarshal(data, &target)

	merged, _ := mergePatch(target, patch).(map[string]any)
	if _, ok := merged["enabled"]; !ok {
		merged["enabled"] = true
	}

	data, err := json.Marshal(merged)
	if err != nil {
		return spec, []events.FieldIssue{{Field: "", Message: "the patched rule is not valid JSON: " + err.Error()}}
	}

	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()

	var result events.RuleSpec
	if err := decoder.Decode(&result); err != nil {
		return spec, []events.FieldIssue{decodeIssue(err)}
	}

	return result, removedRequired(result.Validate(), patch)
}

// removedRequired rewrites the issues that come from a member the patch
// set to null, such as "window_seconds: must be between 1 and 86400, got
// 0", into one issue per removed member stating that it cannot be removed.
// The issues of a removed object's members (condition.type after a null
// condition) become the object's issue.
func removedRequired(issues []events.FieldIssue, patch map[string]any) []events.FieldIssue {
	removed := nullPaths(patch, "")
	if len(removed) == 0 {
		return issues
	}

	var result []events.FieldIssue
	reported := map[string]bool{}
	for _, issue := range issues {
		path, ok := removedPrefix(issue.Field, removed)
		if !ok {
			result = append(result, issue)
			continue
		}

		if !reported[path] {
			reported[path] = true
			result = append(result, events.FieldIssue{Field: path, Message: "is required, so a patch cannot set it to null"})
		}
	}

	return result
}

// nullPaths returns the dotted paths of the members that patch sets to
// null.
func nullPaths(patch map[string]any, prefix string) []string {
	var paths []string
	for key, value := range patch {
		switch value := value.(type) {
		case nil:
			paths = append(paths, prefix+key)
		case map[string]any:
			paths = append(paths, nullPaths(value, prefix+key+".")...)
		}
	}

	return paths
}

// removedPrefix returns the path of removed that is field or contains it.
func removedPrefix(field string, removed []string) (string, bool) {
	for _, path := range removed {
		if field == path || strings.HasPrefix(field, path+".") {
			return path, true
		}
	}

	return "", false
}

// mergePatch returns target with patch merged in: members of an object
// patch merge recursively, null removes a member, and any other patch
// value replaces target.
func mergePatch(target, patch any) any {
	patchObject, ok := patch.(map[string]any)
	if !ok {
		return patch
	}

	targetObject, ok := target.(map[string]any)
	if !ok {
		targetObject = make(map[string]any, len(patchObject))
	}

	for key, value := range patchObject {
		if value == nil {
			delete(targetObject, key)
			continue
		}

		targetObject[key] = mergePatch(targetObject[key], value)
	}

	return targetObject
}

func decodeIssue(err error) events.FieldIssue {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return events.FieldIssue{
			Field:   typeErr.Field,
			Message: fmt.Sprintf("must be a %s, got a JSON %s", typeErr.Type, typeErr.Value),
		}
	}

	return events.FieldIssue{Field: "", Message: err.Error()}
}
