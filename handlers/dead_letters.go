package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/eventpulse/eventpulse/internal/bus"
	"github.com/eventpulse/eventpulse/internal/deadletter"
	"github.com/eventpulse/eventpulse/internal/oas"
)

// deadLettersLimitMax is the largest page of GET /api/v1/dead-letters.
const deadLettersLimitMax = 100

// ListDeadLetters implements oas.Handler.
func (a *API) ListDeadLetters(ctx context.Context, params oas.ListDeadLettersParams) (*oas.DeadLetterList, error) {
	limit := clamp(params.Limit.Or(limitDefault), 1, deadLettersLimitMax)
	offset := max(params.Offset.Or(0), 0)

	letters, err := deadletter.List(ctx, a.pool, limit, offset)
	if err != nil {
		return nil, err
	}

	list := &oas.DeadLetterList{
		Data:       make([]oas.DeadLetter, 0, len(letters)),
		Pagination: oas.Pagination{Limit: limit, Offset: offset, Count: len(letters)},
	}
	for _, letter := range letters {
		list.Data = append(list.Data, deadLetterBody(letter))
	}

	return list, nil
}

// RequeueDeadLetter implements oas.Handler.
func (a *API) RequeueDeadLetter(ctx context.Context, params oas.RequeueDeadLetterParams) (oas.RequeueDeadLetterRes, error) {
	letter, err := deadletter.Requeue(ctx, a.pool, params.ID, a.publishLetter)

	switch {
	case errors.Is(err, deadletter.ErrNotFound):
		return nil, Errorf(http.StatusNotFound, "Dead letter not found")
	case errors.Is(err, deadletter.ErrAlreadyRequeued):
		return nil, Errorf(http.StatusConflict, "dead letter %d was already requeued", params.ID)
	case err != nil:
		return nil, err
	}

	a.logger.InfoContext(ctx, "api: dead letter requeued",
		slog.Int64("dead_letter_id", letter.ID), slog.String("topic", letter.Topic),
		slog.String("message_uuid", letter.MessageUUID))

	body := deadLetterBody(letter)

	return &body, nil
}

// DeleteDeadLetter implements oas.Handler.
func (a *API) DeleteDeadLetter(ctx context.Context, params oas.DeleteDeadLetterParams) error {
	letter, err := deadletter.Delete(ctx, a.pool, params.ID)

	switch {
	case errors.Is(err, deadletter.ErrNotFound):
		return Errorf(http.StatusNotFound, "Dead letter not found")
	case err != nil:
		return err
	}

	a.logger.InfoContext(ctx, "api: dead letter deleted",
		slog.Int64("dead_letter_id", letter.ID), slog.String("topic", letter.Topic),
		slog.String("handler", letter.Handler), slog.String("message_uuid", letter.MessageUUID),
		slog.String("reason", letter.Reason), slog.Bool("requeued", letter.RequeuedAt != nil))

	return nil
}

// publishLetter sends a dead command back to the stream it came from.
func (a *API) publishLetter(_ context.Context, letter deadletter.Letter) error {
	if !strings.HasPrefix(letter.Topic, bus.CommandStream(a.streamPrefix, "")) {
		return Errorf(http.StatusConflict,
			"dead letter %d is a record of %q, not a command; rebuild the projection to apply it again", letter.ID, letter.Topic)
	}

	if letter.Metadata[bus.MetaUnreadable] != "" {
		return Errorf(http.StatusConflict, "dead letter %d is not a readable command and cannot be requeued", letter.ID)
	}

	if expiresAt, ok := commandExpiry(letter); ok && !time.Now().Before(expiresAt) {
		return Errorf(http.StatusConflict,
			"dead letter %d is a rule change whose request expired at %s, and the worker skips an expired change; "+
				"send the change again, or delete the letter", letter.ID, expiresAt.UTC().Format(time.RFC3339))
	}

	msg := message.NewMessage(letter.MessageUUID, letter.Payload)
	for key, value := range letter.Metadata {
		msg.Metadata.Set(key, value)
	}

	if err := a.publisher.Publish(letter.Topic, msg); err != nil {
		return fmt.Errorf("error publishing dead letter %d to %q: %w", letter.ID, letter.Topic, err)
	}

	return nil
}

func deadLetterBody(letter deadletter.Letter) oas.DeadLetter {
	body := oas.DeadLetter{
		ID:          letter.ID,
		MessageUUID: letter.MessageUUID,
		Topic:       letter.Topic,
		Handler:     letter.Handler,
		Reason:      letter.Reason,
		Payload:     strings.ToValidUTF8(string(readablePayload(letter)), "\uFFFD"),
		Metadata:    oas.DeadLetterMetadata(letter.Metadata),
		Deliveries:  letter.Deliveries,
		CreatedAt:   letter.CreatedAt.UTC(),
	}

	if letter.RequeuedAt != nil {
		body.RequeuedAt = oas.NewOptDateTime(letter.RequeuedAt.UTC())
	}

	return body
}

// commandExpiry returns the expires_at of the command in letter, which
// rule commands carry and ingest commands do not.
func commandExpiry(letter deadletter.Letter) (time.Time, bool) {
	var command struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(readablePayload(letter), &command); err != nil || command.ExpiresAt == nil {
		return time.Time{}, false
	}

	return *command.ExpiresAt, true
}

// readablePayload returns the payload of letter decompressed when its
// metadata names a content encoding. A payload that does not decompress is
// returned as stored.
func readablePayload(letter deadletter.Letter) []byte {
	payload, err := bus.DecodePayload(letter.Payload, letter.Metadata[bus.MetaContentEncoding])
	if err != nil {
		return letter.Payload
	}

	return payload
}
