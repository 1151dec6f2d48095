// Package telemetry defines EventPulse's Prometheus metrics, registered on
// one registry per process and served at /metrics.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// Metrics holds every collector. A nil *Metrics records nothing, so code
// under test may pass nil.
type Metrics struct {
	Registry *prometheus.Registry

	// HTTPRequests counts requests by route pattern, method and status.
	HTTPRequests *prometheus.CounterVec
	// HTTPDuration observes request latency by route pattern and method.
	HTTPDuration *prometheus.HistogramVec
	// IngestEvents counts events by outcome: accepted, rejected,
	// rate_limited, backlog_full or unavailable.
	IngestEvents *prometheus.CounterVec
	// IngestCommandEvents observes how many events each ingest command
	// sent by the API carries.
	IngestCommandEvents prometheus.Histogram
	// IngestDuration observes the time from request to 202, which includes
	// the linger and the XADD.
	IngestDuration prometheus.Histogram
	// IngestHandled counts the events of the ingest commands the worker
	// handled, by result: appended, duplicate or conflict.
	IngestHandled *prometheus.CounterVec
	// CommandDuration observes command handling by handler and outcome.
	CommandDuration *prometheus.HistogramVec
	// ProjectionDuration observes applying one log record by projector.
	ProjectionDuration *prometheus.HistogramVec
	// NotificationDeliveries counts delivery attempts by channel and status.
	NotificationDeliveries *prometheus.CounterVec
	// DetectorLateEvents counts events the live detector skipped as late.
	DetectorLateEvents prometheus.Counter
}

// IngestOutcomes are the outcome labels of eventpulse_ingest_events_total.
var IngestOutcomes = []string{"accepted", "rejected", "rate_limited", "backlog_full", "unavailable"}

// IngestResults are the result labels of eventpulse_ingest_handled_events_total.
var IngestResults = []string{"appended", "duplicate", "conflict"}

// commandOutcomes are the outcome labels of ObserveCommand.
var commandOutcomes = []string{"ok", "error"}

// New registers every collector, plus Go runtime and process collectors,
// on a new registry. The ingest outcomes and results and the late event
// counter start at 0.
func New() *Metrics {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	latency := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	m := &Metrics{
		Registry: registry,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventpulse_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventpulse_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: latency,
		}, []string{"route", "method"}),
		IngestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventpulse_ingest_events_total",
			Help: "Events received by outcome: accepted, rejected, rate_limited, backlog_full, unavailable.",
		}, []string{"outcome"}),
		IngestCommandEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventpulse_ingest_command_events",
			Help:    "Events in each ingest command the API sent: one batch request, or single-event requests grouped together.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 500, 1000},
		}),
		IngestDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventpulse_ingest_duration_seconds",
			Help:    "Time from an ingest request's arrival to its 202, including the XADD.",
			Buckets: latency,
		}),
		IngestHandled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventpulse_ingest_handled_events_total",
			Help: "Events of the ingest commands the worker handled, by result: appended to the log, " +
				"duplicate (the id was stored before with the same body) or " +
				"conflict (the id was stored before with another body, which is kept).",
		}, []string{"result"}),
		CommandDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventpulse_command_duration_seconds",
			Help:    "Command handling latency by handler and outcome (ok, error).",
			Buckets: latency,
		}, []string{"handler", "outcome"}),
		ProjectionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventpulse_projection_record_duration_seconds",
			Help:    "Time to apply one log record, by projector.",
			Buckets: latency,
		}, []string{"projector"}),
		NotificationDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventpulse_notification_deliveries_total",
			Help: "Notification delivery attempts by channel and status (sent, failed, retrying).",
		}, []string{"channel", "status"}),
		DetectorLateEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventpulse_detector_late_events_total",
			Help: "Event evaluations the detector skipped because the event was older than a rule's allowed lateness. " +
				"A record applied again after a rolled-back batch is counted again.",
		}),
	}

	registry.MustRegister(m.HTTPRequests, m.HTTPDuration, m.IngestEvents, m.IngestCommandEvents, m.IngestDuration,
		m.IngestHandled, m.CommandDuration, m.ProjectionDuration, m.NotificationDeliveries, m.DetectorLateEvents)

	for _, outcome := range IngestOutcomes {
		m.IngestEvents.WithLabelValues(outcome)
	}

	for _, result := range IngestResults {
		m.IngestHandled.WithLabelValues(result)
	}

	return m
}

// The Init methods create the series of label values known at start, at 0,
// so that /metrics lists each metric before its first observation and
// dashboards and alerts can refer to the series from the start.

// InitRequest creates the request counter and latency series of one route,
// method and status.
func (m *Metrics) InitRequest(route, method string, status int) {
	if m == nil {
		return
	}

	m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status))
	m.HTTPDuration.WithLabelValues(route, method)
}

// InitCommands creates the command latency series of each handler and
// outcome.
func (m *Metrics) InitCommands(handlers []string) {
	if m == nil {
		return
	}

	for _, handler := range handlers {
		for _, outcome := range commandOutcomes {
			m.CommandDuration.WithLabelValues(handler, outcome)
		}
	}
}

// InitProjections creates the record latency series of each projector.
func (m *Metrics) InitProjections(projectors []string) {
	if m == nil {
		return
	}

	for _, projector := range projectors {
		m.ProjectionDuration.WithLabelValues(projector)
	}
}

// InitDeliveries creates the delivery counter series of each channel and
// status.
func (m *Metrics) InitDeliveries(channels, statuses []string) {
	if m == nil {
		return
	}

	for _, channel := range channels {
		for _, status := range statuses {
			m.NotificationDeliveries.WithLabelValues(channel, status)
		}
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// ObserveCommand records one command handling.
func (m *Metrics) ObserveCommand(handler string, start time.Time, err error) {
	if m == nil {
		return
	}

	outcome := "ok"
	if err != nil {
		outcome = "error"
	}

	m.CommandDuration.WithLabelValues(handler, outcome).Observe(time.Since(start).Seconds())
}

// ObserveProjection records one applied log record.
func (m *Metrics) ObserveProjection(projector string, start time.Time) {
	if m == nil {
		return
	}

	m.ProjectionDuration.WithLabelValues(projector).Observe(time.Since(start).Seconds())
}

// ObserveIngestCommand records the size of one ingest command sent.
func (m *Metrics) ObserveIngestCommand(events int) {
	if m == nil {
		return
	}

	m.IngestCommandEvents.Observe(float64(events))
}

// CountIngest adds n events with outcome.
func (m *Metrics) CountIngest(outcome string, n int) {
	if m == nil {
		return
	}

	m.IngestEvents.WithLabelValues(outcome).Add(float64(n))
}

// CountIngestHandled adds the events of one handled ingest command by
// result.
func (m *Metrics) CountIngestHandled(appended, duplicates, conflicts int) {
	if m == nil {
		return
	}

	for i, n := range [...]int{appended, duplicates, conflicts} {
		if n > 0 {
			m.IngestHandled.WithLabelValues(IngestResults[i]).Add(float64(n))
		}
	}
}

// WatchIngestBacklog registers a gauge of the ingest commands that wait
// for the worker, read from waiting at each scrape. waiting returns false
// when no count is known, and the gauge then reads -1. A process runs one
// API, so when a gauge is registered already (a test that builds a second
// API over the same registry), the first one stays.
func (m *Metrics) WatchIngestBacklog(waiting func() (int64, bool)) {
	if m == nil {
		return
	}

	_ = m.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "eventpulse_ingest_commands_waiting",
		Help: "Ingest commands in Redis that the worker has not acknowledged, as last read by the API; -1 when unknown.",
	}, func() float64 {
		n, ok := waiting()
		if !ok {
			return -1
		}

		return float64(n)
	}))
}

// CountLate adds n evaluations the detector skipped as late.
func (m *Metrics) CountLate(n int64) {
	if m == nil || n <= 0 {
		return
	}

	m.DetectorLateEvents.Add(float64(n))
}

// CountDelivery adds one notification delivery attempt.
func (m *Metrics) CountDelivery(channel, status string) {
	if m == nil {
		return
	}

	m.NotificationDeliveries.WithLabelValues(channel, status).Inc()
}

// RegisterProjectionLag adds a gauge, read from PostgreSQL at each scrape,
// of the log records each projector has not applied yet. A consumer group
// of projectors that has no offset yet, as on a fresh install, will start
// at the beginning of the log, so its lag is every record of the log.
func (m *Metrics) RegisterProjectionLag(pool *pgxpool.Pool, logger *slog.Logger, projectors []string) {
	m.Registry.MustRegister(&queryGauge{
		desc: prometheus.NewDesc(
			"eventpulse_projection_lag_records",
			"Log records written after the last one the projector applied.",
			[]string{"projector"}, nil),
		what:   "projection lag",
		logger: logger,
		read: func(ctx context.Context) ([]gaugeValue, error) {
			lags, err := eventlog.Lags(ctx, pool)
			if err != nil {
				return nil, err
			}

			values := make([]gaugeValue, 0, len(lags))
			seen := make(map[string]bool, len(lags))
			for _, lag := range lags {
				values = append(values, gaugeValue{float64(lag.Records), []string{lag.ConsumerGroup}})
				seen[lag.ConsumerGroup] = true
			}

			var records int64
			counted := false
			for _, projector := range projectors {
				if seen[projector] {
					continue
				}

				if !counted {
					if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_log`).Scan(&records); err != nil {
						return nil, fmt.Errorf("error counting log records: %w", err)
					}
					counted = true
				}

				values = append(values, gaugeValue{float64(records), []string{projector}})
			}

			return values, nil
		},
	})
}

// gaugeValue is one series of a queryGauge: its value and label values.
type gaugeValue struct {
	value  float64
	labels []string
}

// queryGauge is a gauge whose series read runs at each scrape. A failed
// read is logged and the scrape gets no series of the gauge.
type queryGauge struct {
	desc   *prometheus.Desc
	what   string
	logger *slog.Logger
	read   func(context.Context) ([]gaugeValue, error)
}

func (g *queryGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *queryGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	values, err := g.read(ctx)
	if err != nil {
		g.logger.Warn("telemetry: error reading "+g.what, slog.Any("error", err))
		return
	}

	for _, v := range values {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v.value, v.labels...)
	}
}
