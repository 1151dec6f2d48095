package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-faster/jx"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/commands"
	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// RuleReplyTimeoutDefault is how long a rule request waits for the command
// handler's reply when APIConfig leaves it zero.
const RuleReplyTimeoutDefault = 10 * time.Second

// projectionPollInterval is how often a write waits for the rules table to
// reach the version it created.
const projectionPollInterval = 10 * time.Millisecond

// ErrNoReply is returned by a RuleCommandSender whose command was sent but
// not answered before the context's deadline.
var ErrNoReply = errors.New("no reply from the rule command handler")

// RuleCommandSender sends a rule command over the command bus and returns
// the result its handler replied. It returns ErrNoReply when ctx's
// deadline passes first.
type RuleCommandSender interface {
	SendRuleCommand(ctx context.Context, cmd any) (commands.RuleResult, error)
}

// CreateRule implements oas.Handler.
func (a *API) CreateRule(ctx context.Context, req *oas.RuleInput) (oas.CreateRuleRes, error) {
	spec := specFromInput(req)
	if issues := append(rawBodyIssues(ctx), spec.Validate()...); len(issues) > 0 {
		return validationFailed(issues), nil
	}

	ctx, cancel := context.WithTimeout(ctx, a.ruleReplyTimeout)
	defer cancel()

	cmd := &commands.CreateRule{RuleCommand: a.ruleCommand(ctx, uuid.New(), nil), Spec: spec}
	result, err := a.sendRuleCommand(ctx, cmd, cmd.RuleCommand)
	if err != nil {
		return nil, err
	}

	if result.Outcome == commands.OutcomeInvalid {
		return validationFailedResult(result), nil
	}

	rule := ruleToOAS(*result.Rule)

	return &oas.RuleHeaders{
		ETag:     etag(rule.Version),
		Location: "/api/v1/rules/" + rule.RuleID.String(),
		Response: rule,
	}, nil
}

// ReplaceRule implements oas.Handler.
func (a *API) ReplaceRule(ctx context.Context, req *oas.RuleInput, params oas.ReplaceRuleParams) (oas.ReplaceRuleRes, error) {
	expected, err := parseIfMatch(params.IfMatch.Value, params.IfMatch.Set)
	if err != nil {
		return nil, err
	}

	spec := specFromInput(req)
	issues := slices.Concat(rawBodyIssues(ctx), ruleIDIssues(req.RuleID, params.RuleID), spec.Validate())
	if len(issues) > 0 {
		return validationFailed(issues), nil
	}

	ctx, cancel := context.WithTimeout(ctx, a.ruleReplyTimeout)
	defer cancel()

	cmd := &commands.ReplaceRule{RuleCommand: a.ruleCommand(ctx, params.RuleID, expected), Spec: spec}
	result, err := a.sendRuleCommand(ctx, cmd, cmd.RuleCommand)
	if err != nil {
		return nil, err
	}

	if result.Outcome == commands.OutcomeInvalid {
		return validationFailedResult(result), nil
	}

	rule := ruleToOAS(*result.Rule)

	return &oas.GetRuleOKHeaders{ETag: etag(rule.Version), Response: rule}, nil
}

// PatchRule implements oas.Handler.
func (a *API) PatchRule(ctx context.Context, req oas.PatchRuleReq, params oas.PatchRuleParams) (oas.PatchRuleRes, error) {
	expected, err := parseIfMatch(params.IfMatch.Value, params.IfMatch.Set)
	if err != nil {
		return nil, err
	}

	patch, invalid, err := encodePatch(req, params.RuleID, rawBodyIssues(ctx))
	if err != nil {
		return nil, err
	}
	if invalid != nil {
		return invalid, nil
	}

	ctx, cancel := context.WithTimeout(ctx, a.ruleReplyTimeout)
	defer cancel()

	cmd := &commands.PatchRule{RuleCommand: a.ruleCommand(ctx, params.RuleID, expected), Patch: patch}
	result, err := a.sendRuleCommand(ctx, cmd, cmd.RuleCommand)
	if err != nil {
		return nil, err
	}

	if result.Outcome == commands.OutcomeInvalid {
		return validationFailedResult(result), nil
	}

	rule := ruleToOAS(*result.Rule)

	return &oas.GetRuleOKHeaders{ETag: etag(rule.Version), Response: rule}, nil
}

// encodePatch returns the JSON merge patch that req sends, without the
// members of a rule response that are not inputs, or the reason it is
// invalid. bodyIssues are the problems already found in the raw request
// body, which the reason lists first.
func encodePatch(
	req oas.PatchRuleReq,
	ruleID uuid.UUID,
	bodyIssues []events.FieldIssue,
) ([]byte, *oas.ValidationError, error) {
	var patch oas.RulePatch
	switch body := req.(type) {
	case *oas.PatchRuleApplicationMergePatchJSON:
		patch = oas.RulePatch(*body)
	case *oas.PatchRuleApplicationJSON:
		patch = oas.RulePatch(*body)
	default:
		return nil, nil, fmt.Errorf("unexpected patch request %T", req)
	}

	if issues := append(bodyIssues, ruleIDIssues(patch.RuleID, ruleID)...); len(issues) > 0 {
		return nil, validationFailed(issues), nil
	}

	// The command, and the RulePatched event it appends, carry only the
	// members of the rule's spec.
	patch, hadReadOnly := withoutReadOnlyMembers(patch)

	var e jx.Encoder
	patch.Encode(&e)

	if string(e.Bytes()) == "{}" {
		message := "the patch is empty; send at least one field to change"
		if hadReadOnly {
			message = "the patch changes nothing, because rule_id, version, created_at and updated_at are ignored; " +
				"send at least one field to change"
		}

		return nil, &oas.ValidationError{Error: message, Issues: []oas.Issue{}}, nil
	}

	return e.Bytes(), nil, nil
}

// DeleteRule implements oas.Handler.
func (a *API) DeleteRule(ctx context.Context, params oas.DeleteRuleParams) error {
	expected, err := parseIfMatch(params.IfMatch.Value, params.IfMatch.Set)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, a.ruleReplyTimeout)
	defer cancel()

	cmd := &commands.DeleteRule{RuleCommand: a.ruleCommand(ctx, params.RuleID, expected)}
	_, err = a.sendRuleCommand(ctx, cmd, cmd.RuleCommand)

	return err
}

// GetRule implements oas.Handler.
func (a *API) GetRule(ctx context.Context, params oas.GetRuleParams) (*oas.GetRuleOKHeaders, error) {
	rows, err := a.pool.Query(ctx, selectRules+` WHERE rule_id = $1 AND deleted_at IS NULL`, params.RuleID)
	if err != nil {
		return nil, fmt.Errorf("error reading rule %q: %w", params.RuleID, err)
	}

	rule, err := pgx.CollectExactlyOneRow(rows, scanRule)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Errorf(http.StatusNotFound, "Rule not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error reading rule %q: %w", params.RuleID, err)
	}

	return &oas.GetRuleOKHeaders{ETag: etag(rule.Version), Response: rule}, nil
}

// ListRules implements oas.Handler.
func (a *API) ListRules(ctx context.Context, params oas.ListRulesParams) ([]oas.Rule, error) {
	where := []string{"deleted_at IS NULL"}
	var args []any

	if v, ok := params.Enabled.Get(); ok {
		args = append(args, v)
		where = append(where, fmt.Sprintf("enabled = $%d", len(args)))
	}
	if v, ok := params.Severity.Get(); ok {
		args = append(args, string(v))
		where = append(where, fmt.Sprintf("severity = $%d", len(args)))
	}

	query := selectRules + " WHERE " + strings.Join(where, " AND ") + " ORDER BY created_at, rule_id"

	rows, err := a.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error listing rules: %w", err)
	}

	list, err := pgx.CollectRows(rows, scanRule)
	if err != nil {
		return nil, fmt.Errorf("error listing rules: %w", err)
	}

	return list, nil
}

const selectRules = `SELECT rule_id, version, name, enabled, severity, window_seconds, cooldown_seconds,
	allowed_lateness_seconds, condition, created_at, updated_at FROM rules`

func scanRule(row pgx.CollectableRow) (oas.Rule, error) {
	var state commands.RuleState

	err := row.Scan(&state.RuleID, &state.Version, &state.Spec.Name, &state.Spec.Enabled,
		&state.Spec.Severity, &state.Spec.WindowSeconds, &state.Spec.CooldownSeconds,
		&state.Spec.AllowedLatenessSeconds, &state.Spec.Condition, &state.CreatedAt, &state.UpdatedAt)
	if err != nil {
		return oas.Rule{}, err
	}

	return ruleToOAS(state), nil
}

// ruleCommand returns the header of a command for ruleID. expected are
// the versions an If-Match header accepts, none for any version.
func (a *API) ruleCommand(ctx context.Context, ruleID uuid.UUID, expected []int) commands.RuleCommand {
	id := uuid.NewString()
	deadline, _ := ctx.Deadline()
	correlationID := cmp.Or(logging.CorrelationID(ctx), id)

	cmd := commands.RuleCommand{
		CommandID:     id,
		CorrelationID: correlationID,
		Actor:         auth.ActorFrom(ctx),
		RuleID:        ruleID,
		ExpiresAt:     deadline,
	}

	// A worker that reads only expected_version rejects the command at
	// any other version than the first listed, never applies it at a
	// version the list leaves out.
	if len(expected) > 0 {
		cmd.ExpectedVersion = expected[0]
	}
	if len(expected) > 1 {
		cmd.ExpectedVersions = expected
	}

	return cmd
}

// sendRuleCommand sends cmd, maps a rejection to its HTTP error and, once
// the change is applied, waits until the rules table shows it, so a read
// right after the write sees it.
func (a *API) sendRuleCommand(ctx context.Context, cmd any, header commands.RuleCommand) (commands.RuleResult, error) {
	result, err := a.ruleCommands.SendRuleCommand(ctx, cmd)
	switch {
	case errors.Is(err, ErrNoReply):
		a.logger.WarnContext(ctx, "rules: no reply from the command handler, answering 504",
			slog.String("command_id", header.CommandID), slog.String("rule_id", header.RuleID.String()))
		return result, Errorf(http.StatusGatewayTimeout,
			"the rule change was not confirmed within %s; it is applied once or not at all, read the rule to see which",
			a.ruleReplyTimeout)
	case err != nil:
		a.logger.WarnContext(ctx, "rules: command bus unavailable, answering 503",
			slog.String("command_id", header.CommandID), slog.Any("error", err))
		return result, Errorf(http.StatusServiceUnavailable, "the command bus is unavailable; nothing was changed, retry later")
	}

	switch result.Outcome {
	case commands.OutcomeApplied:
		a.waitForProjection(ctx, header.RuleID, result.Version)
		return result, nil
	case commands.OutcomeInvalid:
		return result, nil
	case commands.OutcomeNotFound:
		return result, Errorf(http.StatusNotFound, "Rule not found")
	case commands.OutcomeExists:
		return result, Errorf(http.StatusConflict, "%s", result.Message)
	case commands.OutcomeVersionMismatch:
		return result, Errorf(http.StatusPreconditionFailed, "%s; read the rule again and retry with its ETag", result.Message)
	case commands.OutcomeExpired:
		return result, Errorf(http.StatusGatewayTimeout, "%s; nothing was changed", result.Message)
	default:
		return result, fmt.Errorf("unknown outcome %q of command %q", result.Outcome, header.CommandID)
	}
}

// waitForProjection polls the rules table until the rule reaches version
// or ctx ends. The change is in the log either way, so running out of time
// only means a read right after may not show it yet.
func (a *API) waitForProjection(ctx context.Context, ruleID uuid.UUID, version int) {
	ticker := time.NewTicker(projectionPollInterval)
	defer ticker.Stop()

	for {
		var current int
		err := a.pool.QueryRow(ctx, `SELECT version FROM rules WHERE rule_id = $1`, ruleID).Scan(&current)
		if err == nil && current >= version {
			return
		}

		select {
		case <-ctx.Done():
			a.logger.WarnContext(ctx, "rules: the rules table did not reach the new version in time",
				slog.String("rule_id", ruleID.String()), slog.Int("version", version))
			return
		case <-ticker.C:
		}
	}
}

func validationFailed(issues []events.FieldIssue) *oas.ValidationError {
	messages := make([]string, len(issues))
	body := &oas.ValidationError{}

	for i, issue := range issues {
		messages[i] = issue.String()
		body.Issues = append(body.Issues, oas.Issue{
			Path:    pathElements(fieldPath(issue.Field)),
			Message: issue.Message,
			Code:    "invalid",
		})
	}

	body.Error = "Validation failed: " + strings.Join(messages, "; ")

	return body
}

func validationFailedResult(result commands.RuleResult) *oas.ValidationError {
	if len(result.Issues) == 0 {
		return &oas.ValidationError{Error: result.Message, Issues: []oas.Issue{}}
	}

	return validationFailed(result.Issues)
}

// fieldPath splits a dotted field name into path elements, with array
// indexes as integers.
func fieldPath(field string) []any {
	var path []any
	for _, part := range strings.Split(field, ".") {
		if n, err := strconv.Atoi(part); err == nil {
			path = append(path, n)
		} else {
			path = append(path, part)
		}
	}

	return path
}
