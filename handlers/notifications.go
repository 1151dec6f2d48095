package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/internal/oas"
)

// notificationsLimitMax is the largest page of deliveries.
const notificationsLimitMax = 100

// ListNotifications implements oas.Handler.
func (a *API) ListNotifications(ctx context.Context, params oas.ListNotificationsParams) (*oas.NotificationList, error) {
	limit := clamp(params.Limit.Or(limitDefault), 1, notificationsLimitMax)
	offset := max(params.Offset.Or(0), 0)

	var where []string
	var args []any
	addFilter := func(clause string, value any) {
		args = append(args, value)
		where = append(where, fmt.Sprintf(clause, len(args)))
	}

	if v, ok := params.AnomalyID.Get(); ok {
		addFilter("anomaly_id = $%d", v)
	}
	if v, ok := filterValue(params.Channel); ok {
		addFilter("channel = $%d", v)
	}
	if v, ok := params.Status.Get(); ok {
		addFilter("status = $%d", string(v))
	}

	query := `SELECT anomaly_id, channel, rule_id, severity, status, attempts, last_error,
		next_attempt_at, created_at, updated_at, sent_at FROM notification_deliveries`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}

	args = append(args, limit, offset)
	query += fmt.Sprintf(" ORDER BY created_at DESC, anomaly_id, channel LIMIT $%d OFFSET $%d", len(args)-1, len(args))

	rows, err := a.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error listing notification deliveries: %w", err)
	}

	list, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("error listing notification deliveries: %w", err)
	}

	return &oas.NotificationList{
		Data:       list,
		Pagination: oas.Pagination{Limit: limit, Offset: offset, Count: len(list)},
	}, nil
}

func scanDelivery(row pgx.CollectableRow) (oas.NotificationDelivery, error) {
	var d oas.NotificationDelivery
	var anomalyID, ruleID uuid.UUID
	var status string
	var lastError *string
	var sentAt *time.Time

	err := row.Scan(&anomalyID, &d.Channel, &ruleID, &d.Severity, &status, &d.Attempts, &lastError,
		&d.NextAttemptAt, &d.CreatedAt, &d.UpdatedAt, &sentAt)
	if err != nil {
		return d, err
	}

	d.AnomalyID = anomalyID
	d.RuleID = ruleID
	d.Status = oas.NotificationDeliveryStatus(status)
	d.NextAttemptAt = d.NextAttemptAt.UTC()
	d.CreatedAt = d.CreatedAt.UTC()
	d.UpdatedAt = d.UpdatedAt.UTC()
	if lastError != nil {
		d.LastError = oas.NewOptString(*lastError)
	}
	if sentAt != nil {
		d.SentAt = oas.NewOptDateTime(sentAt.UTC())
	}

	return d, nil
}
