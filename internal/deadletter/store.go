// Package deadletter keeps the messages that a handler gave up on: commands
// that failed after their retries or were delivered too many times, and log
// records a projector could not apply. Each letter stores the reason, the
// original payload and metadata, the topic and the handler, so an operator
// can inspect it and send a command again once the cause is fixed.
package deadletter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// ErrNotFound is returned for an id that names no dead letter.
var ErrNotFound = errors.New("dead letter not found")

// Letter is one message a handler gave up on.
type Letter struct {
	ID          int64
	MessageUUID string
	// Topic is the Redis stream of a command, or the log topic for a record.
	Topic string
	// Handler is the consumer group that failed.
	Handler    string
	Reason     string
	Payload    []byte
	Metadata   map[string]string
	Deliveries int
	CreatedAt  time.Time
	RequeuedAt *time.Time
}

// DB is the pool, connection or transaction that the store queries.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Insert records letter unless the same message already waits for the same
// handler, and reports whether it added a row.
func Insert(ctx context.Context, db DB, letter Letter) (bool, error) {
	metadata, err := json.Marshal(nonNil(letter.Metadata))
	if err != nil {
		return false, fmt.Errorf("error encoding dead letter metadata: %w", err)
	}

	tag, err := db.Exec(ctx, `
		INSERT INTO dead_letters (message_uuid, topic, handler, reason, payload, metadata, deliveries)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (handler, message_uuid) WHERE requeued_at IS NULL DO NOTHING`,
		letter.MessageUUID, letter.Topic, letter.Handler, letter.Reason,
		nonNilBytes(letter.Payload), metadata, letter.Deliveries)
	if err != nil {
		return false, fmt.Errorf("error recording dead letter of message %q: %w", letter.MessageUUID, err)
	}

	return tag.RowsAffected() == 1, nil
}

const letterColumns = `id, message_uuid, topic, handler, reason, payload, metadata,
	deliveries, created_at, requeued_at`

const selectColumns = `SELECT ` + letterColumns + ` FROM dead_letters`

// List returns letters newest first.
func List(ctx context.Context, db DB, limit, offset int) ([]Letter, error) {
	rows, err := db.Query(ctx, selectColumns+` ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("error listing dead letters: %w", err)
	}

	letters, err := pgx.CollectRows(rows, scanLetter)
	if err != nil {
		return nil, fmt.Errorf("error listing dead letters: %w", err)
	}

	return letters, nil
}

// Lock reads the letter id and locks its row until tx ends.
func Lock(ctx context.Context, tx pgx.Tx, id int64) (Letter, error) {
	rows, err := tx.Query(ctx, selectColumns+` WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return Letter{}, fmt.Errorf("error reading dead letter %d: %w", id, err)
	}

	letter, err := pgx.CollectExactlyOneRow(rows, scanLetter)
	if errors.Is(err, pgx.ErrNoRows) {
		return Letter{}, ErrNotFound
	}
	if err != nil {
		return Letter{}, fmt.Errorf("error reading dead letter %d: %w", id, err)
	}

	return letter, nil
}

// Delete removes letter id and returns it as it was.
func Delete(ctx context.Context, db DB, id int64) (Letter, error) {
	rows, err := db.Query(ctx, `DELETE FROM dead_letters WHERE id = $1 RETURNING `+letterColumns, id)
	if err != nil {
		return Letter{}, fmt.Errorf("error deleting dead letter %d: %w", id, err)
	}

	letter, err := pgx.CollectExactlyOneRow(rows, scanLetter)
	if errors.Is(err, pgx.ErrNoRows) {
		return Letter{}, ErrNotFound
	}
	if err != nil {
		return Letter{}, fmt.Errorf("error deleting dead letter %d: %w", id, err)
	}

	return letter, nil
}

// MarkRequeued records that letter id was sent to its topic again.
func MarkRequeued(ctx context.Context, tx pgx.Tx, id int64) (time.Time, error) {
	var at time.Time

	err := tx.QueryRow(ctx, `UPDATE dead_letters SET requeued_at = now() WHERE id = $1 RETURNING requeued_at`, id).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("error marking dead letter %d requeued: %w", id, err)
	}

	return at, nil
}

// CountWaiting counts the letters not requeued yet, per handler.
func CountWaiting(ctx context.Context, db DB) (map[string]int64, error) {
	rows, err := db.Query(ctx, `SELECT handler, count(*) FROM dead_letters WHERE requeued_at IS NULL GROUP BY handler`)
	if err != nil {
		return nil, fmt.Errorf("error counting dead letters: %w", err)
	}

	counts := map[string]int64{}
	var handler string
	var count int64

	_, err = pgx.ForEachRow(rows, []any{&handler, &count}, func() error {
		counts[handler] = count
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error counting dead letters: %w", err)
	}

	return counts, nil
}

// CommandCount is the number of dead letters of one command handler and
// stream.
type CommandCount struct {
	Handler string
	Stream  string
	// Waiting counts the letters not requeued yet.
	Waiting int64
}

// CountCommandsWaiting returns, for each command handler and stream with a
// letter in the store, how many of its letters are not requeued yet.
// Requeued letters are kept, so a handler whose letters were all requeued
// stays in the list with 0. Log records that a projector skipped are left
// out. The query reads the whole table, one row per message given up on.
func CountCommandsWaiting(ctx context.Context, db DB) ([]CommandCount, error) {
	rows, err := db.Query(ctx, `
		SELECT handler, topic, count(*) FILTER (WHERE requeued_at IS NULL)
		FROM dead_letters WHERE topic <> $1
		GROUP BY handler, topic ORDER BY handler, topic`, eventlog.Topic)
	if err != nil {
		return nil, fmt.Errorf("error counting command dead letters: %w", err)
	}

	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CommandCount])
	if err != nil {
		return nil, fmt.Errorf("error counting command dead letters: %w", err)
	}

	return counts, nil
}

// CommandStream is a command handler and the Redis stream it reads.
type CommandStream struct {
	Handler string
	Stream  string
}

// CountStreamsWaiting returns the counts of CountCommandsWaiting with a
// count of 0 added for each pair of known that has no letter in the store,
// sorted by handler and then stream.
func CountStreamsWaiting(ctx context.Context, db DB, known []CommandStream) ([]CommandCount, error) {
	counts, err := CountCommandsWaiting(ctx, db)
	if err != nil {
		return nil, err
	}

	seen := make(map[CommandStream]bool, len(counts))
	for _, count := range counts {
		seen[CommandStream{Handler: count.Handler, Stream: count.Stream}] = true
	}

	for _, pair := range known {
		if !seen[pair] {
			counts = append(counts, CommandCount{Handler: pair.Handler, Stream: pair.Stream})
			seen[pair] = true
		}
	}

	slices.SortFunc(counts, func(a, b CommandCount) int {
		return cmp.Or(cmp.Compare(a.Handler, b.Handler), cmp.Compare(a.Stream, b.Stream))
	})

	return counts, nil
}

func scanLetter(row pgx.CollectableRow) (Letter, error) {
	var letter Letter
	var metadata []byte

	err := row.Scan(&letter.ID, &letter.MessageUUID, &letter.Topic, &letter.Handler, &letter.Reason,
		&letter.Payload, &metadata, &letter.Deliveries, &letter.CreatedAt, &letter.RequeuedAt)
	if err != nil {
		return letter, err
	}

	if err := json.Unmarshal(metadata, &letter.Metadata); err != nil {
		return letter, fmt.Errorf("error decoding metadata of dead letter %d: %w", letter.ID, err)
	}

	return letter, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}

	return m
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}

	return b
}
