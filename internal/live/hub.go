package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/olahol/melody"

	"github.com/eventpulse/eventpulse/events"
)

// HubConfig configures a Hub.
type HubConfig struct {
	// BufferSize is how many messages wait for a slow client before it is
	// dropped. Default: 1024, so a reconnecting client passing after can
	// be sent the 512 anomalies it missed most recently.
	BufferSize int
	// PingPeriod is the interval of pings to every client. A client that
	// sends no pong within PongWait is dropped.
	// Default: 30s and 60s.
	PingPeriod time.Duration
	PongWait   time.Duration
	// WriteWait bounds the write of one message; a client that cannot take
	// one in time is dropped. Default: 10s.
	WriteWait time.Duration
	// Keys, when set, checks the API key of every open session each
	// KeyCheckPeriod (default KeyCheckPeriodDefault). A session whose key
	// may no longer read is closed with code 1008.
	Keys           KeyChecker
	KeyCheckPeriod time.Duration
}

// recentCapacity is how many published anomaly ids the hub remembers to
// skip a record that both a notification and a catch-up delivered.
const recentCapacity = 4096

// Hub sends anomalies to the WebSocket clients of this API instance.
type Hub struct {
	melody *melody.Melody
	// catchUpSize bounds the missed anomalies sent to a client passing
	// after, which gets the newest ones its filters accept, at most half
	// its buffer.
	catchUpSize int
	pool        *pgxpool.Pool
	logger      *slog.Logger

	// gate is read-locked by each upgrade until melody has registered its
	// session, and write-locked by Close. melody's hub stops reading new
	// sessions once closed, so an upgrade that raced with Close would
	// block forever with its connection open.
	gate   sync.RWMutex
	closed bool

	keys KeyChecker
	// done is closed by Close and stops the key checks.
	done chan struct{}

	mu     sync.Mutex
	recent map[uuid.UUID]struct{}
	order  []uuid.UUID
}

// clientKey holds the *client in each melody session.
const clientKey = "client"

// client is one connection with its filters. While it catches up on what
// it missed, live anomalies wait in pending.
type client struct {
	severities []string
	ruleID     uuid.UUID
	after      *position

	mu         sync.Mutex
	catchingUp bool
	pending    [][]byte
	pendingIDs []uuid.UUID
	// caughtUp holds the anomalies the catch-up sent, which the feed may
	// still publish afterwards.
	caughtUp map[uuid.UUID]bool
	dropped  atomic.Bool
	// key is the API key the client connected with, "" for none.
	key string
	// revoked is set once the key may no longer read. The client then
	// gets no more anomalies while its close frame waits in its buffer.
	revoked atomic.Bool
	// registered releases the hub's gate once melody has registered the
	// client's session. Later calls do nothing.
	registered func()
}

func (c *client) accepts(a Anomaly) bool {
	if len(c.severities) > 0 && !slices.Contains(c.severities, a.Severity) {
		return false
	}

	return c.ruleID == uuid.Nil || c.ruleID == a.RuleID
}

// NewHub returns a hub; pool serves the catch-up of clients passing after.
func NewHub(pool *pgxpool.Pool, config HubConfig, logger *slog.Logger) *Hub {
	m := melody.New()
	m.Config.MessageBufferSize = cmpOr(config.BufferSize, 1024)
	m.Config.PingPeriod = cmpOr(config.PingPeriod, 30*time.Second)
	m.Config.PongWait = cmpOr(config.PongWait, 60*time.Second)
	m.Config.WriteWait = cmpOr(config.WriteWait, 10*time.Second)

	h := &Hub{
		melody:      m,
		catchUpSize: max(m.Config.MessageBufferSize/2, 1),
		pool:        pool,
		logger:      logger,
		recent:      map[uuid.UUID]struct{}{},
		keys:        config.Keys,
		done:        make(chan struct{}),
	}
	m.Upgrader.Error = h.rejectHandshake
	m.HandleConnect(h.connected)
	m.HandleError(h.failed)

	if h.keys != nil {
		go h.checkKeys(cmpOr(config.KeyCheckPeriod, KeyCheckPeriodDefault))
	}

	return h
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}

	return v
}

// publish sends the record's anomaly to every client whose filters accept
// it and that has not seen it. It never waits for a client: a client whose
// buffer is full is dropped.
func (h *Hub) publish(r record) {
	a := r.anomaly
	if !h.remember(a.AnomalyID) {
		return
	}

	message, err := json.Marshal(a)
	if err != nil {
		h.logger.Error("live: error encoding anomaly", slog.String("anomaly_id", a.AnomalyID.String()), slog.Any("error", err))
		return
	}

	_ = h.melody.BroadcastFilter(message, func(s *melody.Session) bool {
		c := sessionClient(s)
		if c == nil || c.dropped.Load() || c.revoked.Load() || !c.accepts(a) {
			return false
		}

		// A client passing after has seen that record and every earlier one.
		if c.after != nil && !c.after.before(r.position) {
			return false
		}

		c.mu.Lock()
		defer c.mu.Unlock()
		if c.caughtUp[a.AnomalyID] {
			return false
		}
		if c.catchingUp {
			c.pending = append(c.pending, message)
			c.pendingIDs = append(c.pendingIDs, a.AnomalyID)
			return false
		}

		return true
	})
}

// remember records id and returns false when it was published already.
func (h *Hub) remember(id uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()

	if _, ok := h.recent[id]; ok {
		return false
	}

	h.recent[id] = struct{}{}
	h.order = append(h.order, id)
	if len(h.order) > recentCapacity {
		delete(h.recent, h.order[0])
		h.order = h.order[1:]
	}

	return true
}

// Clients returns the number of connected clients.
func (h *Hub) Clients() int { return h.melody.Len() }

// Close disconnects every client with close code 1001, going away. It
// waits for upgrades in progress to register their sessions, so they are
// closed too, and later upgrades get 503.
func (h *Hub) Close() {
	h.gate.Lock()
	defer h.gate.Unlock()

	if h.closed {
		return
	}
	h.closed = true
	close(h.done)

	_ = h.melody.CloseWithMsg(melody.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"))
}

// ServeHTTP upgrades the request to a WebSocket after checking its query:
// severity (a comma-separated list), rule_id and after (the last anomaly
// id the client saw), each at most once. Other parameters filter nothing
// and are not rejected, and api_key is read only for the key checks. A bad
// or repeated severity, rule_id or after gets 400 before the upgrade, with
// the messages that GET /api/v1/anomalies sends for its severity and
// rule_id. A request without the upgrade
// headers then gets 426, and a failed handshake gets the status that the
// WebSocket library chose, each with a JSON error body.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, status, message := h.parseClient(r)
	if status != 0 {
		writeError(w, status, message)
		return
	}

	if !websocket.IsWebSocketUpgrade(r) {
		// RFC 9110 requires Upgrade on a 426, and Connection to name it.
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		writeError(w, http.StatusUpgradeRequired,
			"/ws is a WebSocket endpoint: send the request with the headers Connection: Upgrade and Upgrade: websocket, "+
				"as WebSocket clients do")

		return
	}

	h.gate.RLock()
	if h.closed {
		h.gate.RUnlock()
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down, connect again")

		return
	}

	// connected releases the gate once the session is registered; the call
	// below covers an upgrade that failed before.
	c.registered = sync.OnceFunc(h.gate.RUnlock)
	err := h.melody.HandleRequestWithKeys(w, r, map[string]any{clientKey: c})
	c.registered()

	if errors.Is(err, melody.ErrClosed) {
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down, connect again")
		return
	}
	if err != nil {
		h.logger.DebugContext(r.Context(), "live: WebSocket request failed", slog.Any("error", err))
	}
}

// rejectHandshake writes the error of a WebSocket handshake that failed
// after the request had the upgrade headers, such as one with a missing
// Sec-WebSocket-Key or an unsupported version.
func (h *Hub) rejectHandshake(w http.ResponseWriter, r *http.Request, status int, reason error) {
	if status >= http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "live: WebSocket handshake failed", slog.Any("error", reason))
		writeError(w, status, "internal error")

		return
	}

	// RFC 6455 (section 4.4) requires this header when the client's
	// version is unsupported. Like the library's own error writer, this
	// sends it on every rejected handshake.
	w.Header().Set("Sec-WebSocket-Version", "13")
	writeError(w, status, reason.Error())
}

func (h *Hub) parseClient(r *http.Request) (*client, int, string) {
	query := r.URL.Query()
	c := &client{}
	if h.keys != nil {
		c.key = h.keys.KeyOf(r)
	}

	// The REST routes check repetition before the values, so
	// "severity=critical&severity=bogus" gets this message there too.
	for _, name := range []string{"severity", "rule_id", "after"} {
		if values := query[name]; len(values) > 1 {
			return nil, http.StatusBadRequest,
				fmt.Sprintf("%s must appear at most once in the query, got %d values", name, len(values))
		}
	}

	severities, message := parseSeverities(query["severity"])
	if message != "" {
		return nil, http.StatusBadRequest, message
	}
	c.severities = severities

	if value := query.Get("rule_id"); value != "" {
		id, err := uuid.Parse(value)
		if err != nil {
			return nil, http.StatusBadRequest, "rule_id must be a valid UUID"
		}
		c.ruleID = id
	}

	if value := query.Get("after"); value != "" {
		id, err := uuid.Parse(value)
		if err != nil {
			return nil, http.StatusBadRequest, "after must be a valid UUID"
		}

		p, err := positionOf(r.Context(), h.pool, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, http.StatusBadRequest, "after must be the id of a known anomaly"
		}
		if err != nil {
			h.logger.ErrorContext(r.Context(), "live: error finding anomaly", slog.String("anomaly_id", id.String()), slog.Any("error", err))
			return nil, http.StatusInternalServerError, "internal error"
		}

		c.after = &p
		c.catchingUp = true
	}

	return c, 0, ""
}

// parseSeverities returns the severities of the comma-separated values
// (the one value of the severity parameter, or none), or a message naming
// the first item that is not a rule severity. An empty item, as in
// "severity=" or "critical,,info", is rejected as the REST filters reject
// it, and items are not trimmed, so " info" is unknown.
func parseSeverities(values []string) ([]string, string) {
	var severities []string

	for _, value := range values {
		for _, severity := range strings.Split(value, ",") {
			if severity == "" {
				return nil, fmt.Sprintf("severity must be a comma-separated list of %s without empty items, got %q",
					strings.Join(events.Severities(), ", "), value)
			}

			if !slices.Contains(events.Severities(), severity) {
				return nil, fmt.Sprintf("severity must be one of %s, got %q",
					strings.Join(events.Severities(), ", "), severity)
			}

			severities = append(severities, severity)
		}
	}

	return severities, ""
}

// connected starts the catch-up of a client passing after. Melody starts
// the session's writer only once this returns.
func (h *Hub) connected(s *melody.Session) {
	c := sessionClient(s)
	if c == nil {
		return
	}

	if c.registered != nil {
		c.registered()
	}

	if c.after == nil {
		return
	}

	go h.catchUp(s, c)
}

// catchUp sends what the client missed, then what was published meanwhile,
// skipping anomalies it got from the catch-up.
func (h *Hub) catchUp(s *melody.Session, c *client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The query applies the client's filters, so a filtered client gets up
	// to catchUpSize of the anomalies it accepts, not the ones it accepts
	// among the newest catchUpSize.
	records, err := readLatestAfter(ctx, h.pool, *c.after, h.catchUpSize, c.severities, c.ruleID)
	if err != nil {
		h.logger.Error("live: error reading missed anomalies", slog.Any("error", err))
	}

	sent := map[uuid.UUID]bool{}
	for _, r := range records {
		if c.revoked.Load() {
			break
		}

		message, _ := json.Marshal(r.anomaly)
		_ = s.Write(message)
		sent[r.anomaly.AnomalyID] = true
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	for i, message := range c.pending {
		if !sent[c.pendingIDs[i]] && !c.revoked.Load() {
			_ = s.Write(message)
		}
	}

	c.pending, c.pendingIDs, c.catchingUp, c.caughtUp = nil, nil, false, sent
}

// failed drops a client whose buffer is full. Melody's Close queues the
// close frame in that same buffer, so it is retried until there is room.
// A client that reads nothing at all is cut off by WriteWait first.
func (h *Hub) failed(s *melody.Session, err error) {
	if !errors.Is(err, melody.ErrMessageBufferFull) {
		return
	}

	c := sessionClient(s)
	if c == nil || !c.dropped.CompareAndSwap(false, true) {
		return
	}

	h.logger.Warn("live: dropping slow WebSocket client", slog.String("remote_addr", s.Request.RemoteAddr))

	go func() {
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()

		for !s.IsClosed() {
			_ = s.CloseWithMsg(melody.FormatCloseMessage(1008, "client too slow"))
			<-ticker.C
		}
	}()
}

func sessionClient(s *melody.Session) *client {
	value, ok := s.Get(clientKey)
	if !ok {
		return nil
	}

	c, _ := value.(*client)

	return c
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}
