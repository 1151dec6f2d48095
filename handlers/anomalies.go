package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/internal/oas"
)

// anomaliesLimitMax is the largest page of GET /api/v1/anomalies.
const anomaliesLimitMax = 100

const anomalyColumns = `anomaly_id, event_id, rule_id, rule_version, rule_name, severity, group_key,
	observed, threshold, operator, window_start, window_end, sample_event_ids, message, detected_at`

// ListAnomalies implements oas.Handler.
func (a *API) ListAnomalies(ctx context.Context, params oas.ListAnomaliesParams) (*oas.AnomalyList, error) {
	limit := clamp(params.Limit.Or(limitDefault), 1, anomaliesLimitMax)
	offset := max(params.Offset.Or(0), 0)

	if err := checkTimestampRange("from", params.From); err != nil {
		return nil, err
	}
	if err := checkTimestampRange("to", params.To); err != nil {
		return nil, err
	}

	if params.From.Set && params.To.Set && params.From.Value.After(params.To.Value) {
		return nil, Errorf(http.StatusBadRequest, "from must not be after to")
	}

	var where []string
	var args []any
	addFilter := func(clause string, value any) {
		args = append(args, value)
		where = append(where, fmt.Sprintf(clause, len(args)))
	}

	if v, ok := params.RuleID.Get(); ok {
		addFilter("rule_id = $%d", v)
	}
	if len(params.Severity) > 0 {
		severities := make([]string, len(params.Severity))
		for i, severity := range params.Severity {
			severities[i] = string(severity)
		}
		addFilter("severity = ANY($%d)", severities)
	}
	if v, ok := params.GroupKey.Get(); ok {
		addFilter("group_key = $%d", v)
	}
	if v, ok := params.From.Get(); ok {
		addFilter("detected_at >= $%d", v)
	}
	if v, ok := params.To.Get(); ok {
		addFilter("detected_at <= $%d", v)
	}

	query := `SELECT ` + anomalyColumns + ` FROM anomalies`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}

	args = append(args, limit, offset)
	query += fmt.Sprintf(` ORDER BY detected_at DESC, anomaly_id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args))

	rows, err := a.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error listing anomalies: %w", err)
	}

	list, err := pgx.CollectRows(rows, scanAnomaly)
	if err != nil {
		return nil, fmt.Errorf("error listing anomalies: %w", err)
	}

	return &oas.AnomalyList{
		Data:       list,
		Pagination: oas.Pagination{Limit: limit, Offset: offset, Count: len(list)},
	}, nil
}

// GetAnomaly implements oas.Handler.
func (a *API) GetAnomaly(ctx context.Context, params oas.GetAnomalyParams) (*oas.Anomaly, error) {
	rows, err := a.pool.Query(ctx, `SELECT `+anomalyColumns+` FROM anomalies WHERE anomaly_id = $1`, params.AnomalyID)
	if err != nil {
		return nil, fmt.Errorf("error reading anomaly %q: %w", params.AnomalyID, err)
	}

	anomaly, err := pgx.CollectExactlyOneRow(rows, scanAnomaly)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Errorf(http.StatusNotFound, "Anomaly not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error reading anomaly %q: %w", params.AnomalyID, err)
	}

	return &anomaly, nil
}

func scanAnomaly(row pgx.CollectableRow) (oas.Anomaly, error) {
	var a oas.Anomaly

	err := row.Scan(&a.AnomalyID, &a.EventID, &a.RuleID, &a.RuleVersion, &a.RuleName, &a.Severity,
		&a.GroupKey, &a.Observed, &a.Threshold, &a.Operator, &a.WindowStart, &a.WindowEnd,
		&a.SampleEventIds, &a.Message, &a.DetectedAt)
	if err != nil {
		return a, err
	}

	a.WindowStart = a.WindowStart.UTC()
	a.WindowEnd = a.WindowEnd.UTC()
	a.DetectedAt = a.DetectedAt.UTC()

	return a, nil
}
