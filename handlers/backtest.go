package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/backtest"
	"github.com/eventpulse/eventpulse/internal/detect"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// BacktestRule implements oas.Handler.
func (a *API) BacktestRule(ctx context.Context, req *oas.BacktestInput) (oas.BacktestRuleRes, error) {
	spec := specFromInput(&req.Rule)
	issues := spec.Validate()
	for i := range issues {
		issues[i].Field = "rule." + issues[i].Field
	}
	issues = append(rawBodyIssues(ctx), issues...)

	for _, bound := range []struct {
		field string
		t     time.Time
	}{{"from", req.From}, {"to", req.To}} {
		if !ingest.TimestampInRange(bound.t) {
			issues = append(issues, events.FieldIssue{Field: bound.field, Message: "must be from 1970 up to, not including, 2100"})
		}
	}

	if req.From.After(req.To) {
		issues = append(issues, events.FieldIssue{Field: "from", Message: "must not be after to"})
	}

	if len(issues) > 0 {
		return validationFailed(issues), nil
	}

	ruleID := req.RuleID.Or(uuid.New())
	version, err := a.ruleVersion(ctx, ruleID)
	if err != nil {
		return nil, err
	}

	started := time.Now()
	result, err := backtest.Run(ctx, a.pool, backtest.Request{
		RuleID:      ruleID,
		RuleVersion: version,
		Spec:        spec,
		From:        req.From,
		To:          req.To,
		MaxEvents:   int64(req.MaxEvents.Or(backtest.MaxEventsDefault)),
		Config:      detect.Config{},
	})
	if err != nil {
		return nil, err
	}

	a.logger.InfoContext(ctx, "rules: backtest run",
		slog.String("rule_id", ruleID.String()),
		slog.Int64("num_events_read", result.EventsRead),
		slog.Int64("num_events_scanned", result.EventsScanned),
		slog.Int("num_anomalies", len(result.Anomalies)),
		slog.Bool("truncated", result.Truncated),
		slog.Duration("duration", time.Since(started)))

	out := &oas.Backtest{
		RuleID:        ruleID,
		RuleVersion:   version,
		From:          req.From.UTC(),
		To:            req.To.UTC(),
		EventsRead:    result.EventsRead,
		EventsScanned: result.EventsScanned,
		LateEvents:    result.Late,
		Truncated:     result.Truncated,
		Anomalies:     make([]oas.Anomaly, len(result.Anomalies)),
	}

	for i, anomaly := range result.Anomalies {
		out.Anomalies[i] = anomalyToOAS(anomaly)
	}

	return out, nil
}

// ruleVersion returns the version of a rule that is not deleted, or 1 for
// an id no live rule has, the version a rule created with it would start
// at.
func (a *API) ruleVersion(ctx context.Context, ruleID uuid.UUID) (int, error) {
	var version int
	err := a.pool.QueryRow(ctx, `SELECT version FROM rules WHERE rule_id = $1 AND deleted_at IS NULL`, ruleID).
		Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("error reading rule %q: %w", ruleID, err)
	}

	return version, nil
}

// anomalyToOAS returns an anomaly as the anomalies API shows it.
func anomalyToOAS(a events.AnomalyDetected) oas.Anomaly {
	sample := a.SampleEventIDs
	if sample == nil {
		sample = []uuid.UUID{}
	}

	return oas.Anomaly{
		AnomalyID:      a.AnomalyID,
		EventID:        a.EventID,
		RuleID:         a.RuleID,
		RuleVersion:    a.RuleVersion,
		RuleName:       a.RuleName,
		Severity:       a.Severity,
		GroupKey:       a.GroupKey,
		Observed:       a.Observed,
		Threshold:      a.Threshold,
		Operator:       a.Operator,
		WindowStart:    a.WindowStart.UTC(),
		WindowEnd:      a.WindowEnd.UTC(),
		SampleEventIds: sample,
		Message:        a.Message,
		DetectedAt:     a.DetectedAt.UTC(),
	}
}
