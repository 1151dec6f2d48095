package app

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/telemetry"
)

// observeRequests logs each request at Debug and each server error at
// Error, and counts it by route pattern, so that ids in paths do not
// create a label value per request. A 503 stays at Debug, because the handler
// that writes it logs the cause, and during an outage or a full ingest backlog
// an Error line per request would flood the log. A 501 for a method that no
// route takes is the client's mistake and stays at Debug too.
func observeRequests(logger *slog.Logger, metrics *telemetry.Metrics, server *oas.Server) func(http.Handler) http.Handler {
	series := newRequestSeries(metrics)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)

			elapsed := time.Since(start)
			route := routePattern(r, server)
			status := responseStatus(r, ww.Status())
			requests, duration := series.lookup(route, methodLabel(r.Method), status)
			requests.Inc()
			duration.Observe(elapsed.Seconds())

			level := slog.LevelDebug
			if status >= http.StatusInternalServerError && status != http.StatusServiceUnavailable && status != http.StatusNotImplemented {
				level = slog.LevelError
			}

			// The check spares building the Debug line of every request
			// while Debug is off, as it is at the default level, info.
			if !logger.Enabled(r.Context(), level) {
				return
			}

			logger.LogAttrs(r.Context(), level, "api: request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", elapsed))
		})
	}
}

// maxCachedSeries bounds requestSeries' cache. Routes, methods and
// statuses each have a fixed set of label values, so the cache stays far
// below it in practice.
const maxCachedSeries = 1000

// methodLabel returns method for the methods of RFC 9110 and PATCH, and
// "other" for any other, so that clients cannot add label values.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	default:
		return "other"
	}
}

// responseStatus returns the status that a handler wrote. A handler that
// took the connection over for a WebSocket wrote none through the
// ResponseWriter, and its upgrade sent 101.
func responseStatus(r *http.Request, written int) int {
	if written != 0 {
		return written
	}

	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return http.StatusSwitchingProtocols
	}

	return http.StatusOK
}

// requestSeries caches the HTTP request counter and latency histogram of
// each route, method and status. Looking a series up in its vector hashes
// the label values and allocates on every request.
type requestSeries struct {
	metrics *telemetry.Metrics

	mu     sync.RWMutex
	series map[seriesKey]seriesMetrics
}

type seriesKey struct {
	route, method string
	status        int
}

type seriesMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newRequestSeries(metrics *telemetry.Metrics) *requestSeries {
	return &requestSeries{metrics: metrics, series: map[seriesKey]seriesMetrics{}}
}

// lookup returns the request counter and latency histogram of a request.
func (s *requestSeries) lookup(route, method string, status int) (prometheus.Counter, prometheus.Observer) {
	key := seriesKey{route: route, method: method, status: status}

	s.mu.RLock()
	cached, ok := s.series[key]
	s.mu.RUnlock()

	if ok {
		return cached.requests, cached.duration
	}

	cached = seriesMetrics{
		requests: s.metrics.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status)),
		duration: s.metrics.HTTPDuration.WithLabelValues(route, method),
	}

	s.mu.Lock()
	if len(s.series) < maxCachedSeries {
		s.series[key] = cached
	}
	s.mu.Unlock()

	return cached.requests, cached.duration
}

// routePattern returns the chi pattern that matched r or, for requests
// handed to the generated server, its spec path.
func routePattern(r *http.Request, server *oas.Server) string {
	pattern := ""
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		pattern = rctx.RoutePattern()
	}

	if pattern != "" && pattern != "/*" {
		return pattern
	}

	if route, ok := server.FindRoute(r.Method, r.URL.Path); ok {
		return route.PathPattern()
	}

	return "unmatched"
}
