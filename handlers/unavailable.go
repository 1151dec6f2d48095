package handlers

import (
	"errors"
	"net"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/ingest"
)

// The 503 messages of the ingestion routes. The client resends in both
// cases, but only the first one promises that nothing was stored.
const (
	messageNothingAccepted = "the event bus is unavailable; nothing was accepted, retry later"
	messageOutcomeUnknown  = "timed out waiting for the event bus; the events may have been accepted. " +
		"Retry later with the same event_id values, which are deduplicated; " +
		"events sent without event_id may be stored twice"
)

// nothingSent reports whether err from the command bus proves that Redis
// did not store the command. That is so when no connection could be made,
// none was free in the pool, or the batcher was closed. It is also so when
// Redis returned an error reply to the XADD, such as OOM at its maxmemory,
// because Redis sends one only for a command it did not run. Any other
// error, such as a timeout, leaves the outcome unknown, because Redis may
// have stored the XADD that was written before the error. This holds
// because go-redis makes one attempt per command (MaxRetries in
// app.OpenRedis), so err is the error of the only attempt.
func nothingSent(err error) bool {
	if errors.Is(err, ingest.ErrBatcherClosed) || errors.Is(err, redis.ErrPoolTimeout) {
		return true
	}

	var reply redis.Error
	if errors.As(err, &reply) {
		return true
	}

	var opErr *net.OpError

	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// backlogMessage is the 503 message while the command backlog is over its
// limit.
func backlogMessage(err *bus.BacklogFullError) string {
	return "ingestion is paused: " + strconv.FormatInt(err.Waiting, 10) + " commands wait for the worker, " +
		"more than the limit of " + strconv.FormatInt(err.Limit, 10) + "; nothing was accepted, retry later"
}

// unavailableMessage returns the 503 message for a command bus error.
func unavailableMessage(err error) string {
	if nothingSent(err) {
		return messageNothingAccepted
	}

	return messageOutcomeUnknown
}
