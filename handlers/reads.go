package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/go-faster/jx"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/logging"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Page sizes of list endpoints.
const (
	limitDefault    = 20
	eventsLimitMax  = 500
	workerIdleLimit = 30 * time.Second
)

// API implements the ogen-generated oas.Handler over the read tables.
type API struct {
	oas.UnimplementedHandler

	pool   *pgxpool.Pool
	redis  redis.UniversalClient
	logger *slog.Logger
	// publisher sends requeued dead letters to their Redis stream.
	publisher message.Publisher
	// streamPrefix locates the worker heartbeats that
	// GET /api/v1/events/health reports as "worker".
	streamPrefix     string
	ruleCommands     RuleCommandSender
	ruleReplyTimeout time.Duration
	replays          *projection.Jobs
	backlog          *bus.Backlog
	commandStreams   []deadletter.CommandStream
	// readyRedis and readyPostgres log the failed checks of /readyz: the
	// first of an outage at Warn, the next ones at Debug.
	readyRedis, readyPostgres logging.Outage
}

var _ oas.Handler = (*API)(nil)

// APIConfig configures NewAPI.
type APIConfig struct {
	Pool         *pgxpool.Pool
	Redis        redis.UniversalClient
	Logger       *slog.Logger
	StreamPrefix string
	// RuleCommands sends the commands of rule writes; required.
	RuleCommands RuleCommandSender
	// RuleReplyTimeout bounds the wait for a rule command's reply; past it
	// the request gets 504. Default: RuleReplyTimeoutDefault.
	RuleReplyTimeout time.Duration
	// Publisher sends requeued dead letters to their Redis stream.
	Publisher message.Publisher
	// Replays runs the replays that POST /api/v1/projections/{name}/replay
	// starts. Required.
	Replays *projection.Jobs
	// Backlog is the count of ingest commands waiting for the worker that
	// GET /api/v1/events/health reports; nil reports none.
	Backlog *bus.Backlog
	// CommandStreams are the command handlers with their streams, which
	// GET /readyz lists in commands with a count of 0 when they have no
	// dead letter.
	CommandStreams []deadletter.CommandStream
}

// NewAPI returns the read handlers.
func NewAPI(config APIConfig) *API {
	if config.Pool == nil || config.Redis == nil || config.Logger == nil ||
		config.RuleCommands == nil || config.Publisher == nil || config.Replays == nil {
		panic("handlers: NewAPI needs a pool, a Redis client, a logger, a rule command sender, a publisher and replay jobs")
	}

	return &API{
		pool:             config.Pool,
		redis:            config.Redis,
		logger:           config.Logger,
		streamPrefix:     config.StreamPrefix,
		backlog:          config.Backlog,
		ruleCommands:     config.RuleCommands,
		ruleReplyTimeout: cmp.Or(config.RuleReplyTimeout, RuleReplyTimeoutDefault),
		publisher:        config.Publisher,
		replays:          config.Replays,
		commandStreams:   config.CommandStreams,
	}
}

// NewError implements oas.Handler.
func (a *API) NewError(ctx context.Context, err error) *oas.ErrorStatusCode {
	return newError(ctx, a.logger, err)
}

// ListEvents implements oas.Handler.
func (a *API) ListEvents(ctx context.Context, params oas.ListEventsParams) (*oas.EventList, error) {
	limit := clamp(params.Limit.Or(limitDefault), 1, eventsLimitMax)
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

	if v, ok := filterValue(params.EventType); ok {
		addFilter("event_type = $%d", v)
	}
	if v, ok := filterValue(params.Source); ok {
		addFilter("source = $%d", v)
	}
	if v, ok := params.From.Get(); ok {
		addFilter(`"timestamp" >= $%d`, v)
	}
	if v, ok := params.To.Get(); ok {
		addFilter(`"timestamp" <= $%d`, v)
	}

	query := `SELECT event_id, event_type, source, "timestamp", received_at, payload::text, metadata::text FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}

	args = append(args, limit, offset)
	query += fmt.Sprintf(` ORDER BY "timestamp" DESC, event_id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args))

	rows, err := a.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("error listing events: %w", err)
	}

	list, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("error listing events: %w", err)
	}

	return &oas.EventList{
		Data:       list,
		Pagination: oas.Pagination{Limit: limit, Offset: offset, Count: len(list)},
	}, nil
}

// GetEvent implements oas.Handler.
func (a *API) GetEvent(ctx context.Context, params oas.GetEventParams) (*oas.Event, error) {
	rows, err := a.pool.Query(ctx, `
		SELECT event_id, event_type, source, "timestamp", received_at, payload::text, metadata::text
		FROM events WHERE event_id = $1`, params.EventID)
	if err != nil {
		return nil, fmt.Errorf("error reading event %q: %w", params.EventID, err)
	}

	event, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Errorf(http.StatusNotFound, "Event not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error reading event %q: %w", params.EventID, err)
	}

	return &event, nil
}

func scanEvent(row pgx.CollectableRow) (oas.Event, error) {
	var e oas.Event
	var id uuid.UUID
	var payload, metadata string

	err := row.Scan(&id, &e.EventType, &e.Source, &e.Timestamp, &e.ReceivedAt, &payload, &metadata)
	if err != nil {
		return e, err
	}

	e.EventID = id
	e.Timestamp = e.Timestamp.UTC()
	e.ReceivedAt = e.ReceivedAt.UTC()
	e.CreatedAt = e.ReceivedAt
	e.Payload = jx.Raw(payload)
	e.Metadata = jx.Raw(metadata)

	return e, nil
}

func clamp(v, lo, hi int) int {
	return min(max(v, lo), hi)
}
