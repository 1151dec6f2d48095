package live

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/logging"
)

// KeyChecker checks the API key of each open session again, so a session
// ends once its key is revoked or loses the scope that reading needs.
type KeyChecker interface {
	// KeyOf returns the API key that an upgrade request authenticated
	// with, or "" for a request without a key.
	KeyOf(r *http.Request) string
	// CheckKey returns "" while key may still read anomalies, and
	// otherwise the reason to send in the close frame, at most 123 bytes
	// as RFC 6455 allows. It returns an error when the key could not be
	// checked, such as while the database is down, and the session then
	// stays open.
	CheckKey(ctx context.Context, key string) (string, error)
}

// KeyCheckPeriodDefault is the default interval between two checks of the
// keys of the open sessions.
const KeyCheckPeriodDefault = time.Second

// keyCheckTimeout bounds one round of checks.
const keyCheckTimeout = 5 * time.Second

// checkKeys checks the keys of the open sessions every period until Close.
func (h *Hub) checkKeys(period time.Duration) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()

	var outage logging.Outage
	for {
		select {
		case <-h.done:
			return
		case <-ticker.C:
			h.checkKeysOnce(&outage)
		}
	}
}

// checkKeysOnce checks each distinct key of the open sessions once, and
// closes with code 1008 (policy violation) the sessions of every key that
// may no longer read.
func (h *Hub) checkKeysOnce(outage *logging.Outage) {
	sessions, err := h.melody.Sessions()
	if err != nil {
		return
	}

	byKey := map[string][]*melody.Session{}
	for _, s := range sessions {
		c := sessionClient(s)
		if c == nil || s.IsClosed() {
			continue
		}
		byKey[c.key] = append(byKey[c.key], s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), keyCheckTimeout)
	defer cancel()

	for key, group := range byKey {
		reason, err := h.keys.CheckKey(ctx, key)
		if err != nil {
			outage.Failed(ctx, h.logger, "live: error checking the API key of WebSocket sessions; they stay open",
				slog.String("key_id", keyID(key)), slog.Int("sessions", len(group)), slog.Any("error", err))

			continue
		}
		outage.Recovered(ctx, h.logger, "live: API keys of WebSocket sessions checked again")

		if reason == "" {
			continue
		}

		h.logger.InfoContext(ctx, "live: closing WebSocket sessions whose API key may no longer read",
			slog.String("key_id", keyID(key)), slog.Int("sessions", len(group)), slog.String("reason", reason))

		for _, s := range group {
			closeRevoked(s, reason)
		}
	}
}

// closeRevoked stops sending anomalies to s and queues its close frame.
// When the session's buffer is full, the frame is not queued and the next
// round of checks tries again.
func closeRevoked(s *melody.Session, reason string) {
	if c := sessionClient(s); c != nil {
		c.revoked.Store(true)
	}

	_ = s.CloseWithMsg(melody.FormatCloseMessage(websocket.ClosePolicyViolation, reason))
}

// keyID returns the key id part of key for logs, which never carry the
// secret, and "" for a session without a key.
func keyID(key string) string {
	if key == "" {
		return ""
	}

	id, _, ok := auth.ParseKey(key)
	if !ok {
		return "invalid"
	}

	return id.String()
}
