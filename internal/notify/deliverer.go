package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// Delivery statuses.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// OutcomeRetrying is the status label of
// eventpulse_notification_deliveries_total for a failed attempt that is
// tried again. The other attempts are counted as StatusSent or StatusFailed.
const OutcomeRetrying = "retrying"

// AttemptOutcomes are the status labels that the deliverer counts attempts
// under.
var AttemptOutcomes = []string{StatusSent, StatusFailed, OutcomeRetrying}

// claimBatchSize is how many due deliveries one channel claims at a time.
const claimBatchSize = 20

// Deliverer sends the pending rows of notification_deliveries. Each channel
// has its own loop, so a slow or broken channel never delays the others,
// and rows are claimed with FOR UPDATE SKIP LOCKED and a lease, so several
// workers can run deliverers over one database.
type Deliverer struct {
	// Metrics counts delivery attempts by channel and outcome; nil counts
	// nothing.
	Metrics *telemetry.Metrics

	pool    *pgxpool.Pool
	config  Config
	senders map[string]Sender
	logger  *slog.Logger
}

// NewDeliverer returns a deliverer of the channels in config.
func NewDeliverer(pool *pgxpool.Pool, config Config, senders map[string]Sender, logger *slog.Logger) *Deliverer {
	if pool == nil || logger == nil {
		panic("notify: NewDeliverer needs a pool and a logger")
	}

	return &Deliverer{pool: pool, config: config, senders: senders, logger: logger}
}

// Run delivers until ctx ends. A send in flight when ctx ends is cancelled
// and its row released for the next run, not counted as an attempt.
func (d *Deliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup

	for name, sender := range d.senders {
		wg.Go(func() { d.runChannel(ctx, name, sender) })
	}

	wg.Wait()
}

func (d *Deliverer) runChannel(ctx context.Context, channel string, sender Sender) {
	logger := d.logger.With(slog.String("channel", channel))
	ticker := time.NewTicker(d.config.Delivery.PollInterval)
	defer ticker.Stop()

	// While claims fail, as when PostgreSQL is down, only the first
	// failure is logged at Warn, and the recovery at Info.
	var outage logging.Outage

	for {
		for {
			claimed, err := d.claim(ctx, channel)
			if err != nil {
				if ctx.Err() == nil {
					outage.Failed(ctx, logger, "notify: error claiming deliveries", slog.Any("error", err))
				}
				break
			}
			outage.Recovered(ctx, logger, "notify: claiming deliveries again")

			for _, delivery := range claimed {
				d.deliver(ctx, logger, sender, delivery)
			}

			if len(claimed) < claimBatchSize {
				break
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

type claimedDelivery struct {
	anomaly  events.AnomalyDetected
	channel  string
	attempts int
	// correlationID is the id of the request whose events raised the
	// anomaly, or empty.
	correlationID string
}

// claim leases the channel's due deliveries and counts the attempt.
func (d *Deliverer) claim(ctx context.Context, channel string) ([]claimedDelivery, error) {
	rows, err := d.pool.Query(ctx, `
		UPDATE notification_deliveries
		SET lease_until = now() + make_interval(secs => $2), attempts = attempts + 1, updated_at = now()
		WHERE (anomaly_id, channel) IN (
			SELECT anomaly_id, channel FROM notification_deliveries
			WHERE channel = $1 AND status = 'pending' AND next_attempt_at <= now()
				AND (lease_until IS NULL OR lease_until < now())
			ORDER BY next_attempt_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING anomaly::text, attempts, coalesce(correlation_id, '')`,
		channel, d.config.Delivery.Lease.Seconds(), claimBatchSize)
	if err != nil {
		return nil, fmt.Errorf("error claiming deliveries of channel %q: %w", channel, err)
	}

	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimedDelivery, error) {
		var payload string
		delivery := claimedDelivery{channel: channel}
		if err := row.Scan(&payload, &delivery.attempts, &delivery.correlationID); err != nil {
			return delivery, err
		}

		return delivery, json.Unmarshal([]byte(payload), &delivery.anomaly)
	})
}

func (d *Deliverer) deliver(ctx context.Context, logger *slog.Logger, sender Sender, delivery claimedDelivery) {
	anomalyID := delivery.anomaly.AnomalyID
	logger = logger.With(slog.String("anomaly_id", anomalyID.String()), slog.Int("attempt", delivery.attempts))
	ctx = logging.WithCorrelationID(ctx, delivery.correlationID)

	sendCtx, cancel := context.WithTimeout(ctx, d.config.Delivery.SendTimeout)
	err := sender.Send(sendCtx, Notification{
		Anomaly:      delivery.anomaly,
		Channel:      delivery.channel,
		DashboardURL: d.config.DashboardURL,
	})
	cancel()

	// The outcome is recorded with a context of its own, so a graceful stop
	// still records a message that went out.
	recordCtx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelRecord()

	switch {
	case err == nil:
		d.Metrics.CountDelivery(delivery.channel, StatusSent)
		err = d.markSent(recordCtx, anomalyID, delivery.channel)
		if err == nil {
			logger.InfoContext(ctx, "notify: sent")
		}
	case ctx.Err() != nil:
		err = d.release(recordCtx, anomalyID, delivery.channel)
	default:
		err = d.markFailure(recordCtx, logger, delivery, err)
	}

	if err != nil {
		logger.ErrorContext(ctx, "notify: error recording delivery", slog.Any("error", err))
	}
}

func (d *Deliverer) markSent(ctx context.Context, anomalyID uuid.UUID, channel string) error {
	_, err := d.pool.Exec(ctx, `
		UPDATE notification_deliveries
		SET status = 'sent', sent_at = now(), updated_at = now(), lease_until = NULL, last_error = NULL
		WHERE anomaly_id = $1 AND channel = $2`, anomalyID, channel)
	if err != nil {
		return fmt.Errorf("error marking delivery of %s to %q sent: %w", anomalyID, channel, err)
	}

	return nil
}

// release gives a claimed row back without counting the attempt; it is
// used when the deliverer stops mid-send.
func (d *Deliverer) release(ctx context.Context, anomalyID uuid.UUID, channel string) error {
	_, err := d.pool.Exec(ctx, `
		UPDATE notification_deliveries
		SET lease_until = NULL, attempts = attempts - 1, updated_at = now()
		WHERE anomaly_id = $1 AND channel = $2 AND status = 'pending'`, anomalyID, channel)
	if err != nil {
		return fmt.Errorf("error releasing delivery of %s to %q: %w", anomalyID, channel, err)
	}

	return nil
}

// markFailure schedules the next attempt, or marks the delivery failed when
// the error is permanent or the attempts are used up.
func (d *Deliverer) markFailure(ctx context.Context, logger *slog.Logger, delivery claimedDelivery, sendErr error) error {
	retryable, retryAfter := retryPolicy(sendErr)
	status := StatusPending
	if !retryable || delivery.attempts >= d.config.Delivery.MaxAttempts {
		status = StatusFailed
	}

	if status == StatusFailed {
		d.Metrics.CountDelivery(delivery.channel, StatusFailed)
	} else {
		d.Metrics.CountDelivery(delivery.channel, OutcomeRetrying)
	}

	wait := d.backoff(delivery.attempts)
	if retryAfter > 0 {
		wait = min(retryAfter, d.config.Delivery.MaxBackoff)
	}

	if status == StatusFailed {
		logger.ErrorContext(ctx, "notify: delivery failed", slog.Any("error", sendErr))
	} else {
		logger.WarnContext(ctx, "notify: send failed, retrying",
			slog.Any("error", sendErr), slog.Duration("retry_in", wait))
	}

	_, err := d.pool.Exec(ctx, `
		UPDATE notification_deliveries
		SET status = $3, last_error = $4, lease_until = NULL, updated_at = now(),
			next_attempt_at = now() + make_interval(secs => $5)
		WHERE anomaly_id = $1 AND channel = $2`,
		delivery.anomaly.AnomalyID, delivery.channel, status, truncate(sendErr.Error(), 1000), wait.Seconds())
	if err != nil {
		return fmt.Errorf("error recording failed delivery of %s to %q: %w",
			delivery.anomaly.AnomalyID, delivery.channel, err)
	}

	return nil
}

// backoff returns the wait after the given failed attempt: InitialBackoff
// doubled per earlier failure, capped at MaxBackoff, minus a random jitter
// of up to half, so deliveries that failed together spread out.
func (d *Deliverer) backoff(attempt int) time.Duration {
	wait := d.config.Delivery.InitialBackoff
	for i := 1; i < attempt && wait < d.config.Delivery.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, d.config.Delivery.MaxBackoff)

	return wait - time.Duration(rand.Int64N(int64(wait)/2+1))
}
