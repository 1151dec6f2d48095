package deadletter

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrAlreadyRequeued is returned by Requeue for a letter requeued before.
var ErrAlreadyRequeued = errors.New("dead letter already requeued")

// Requeue locks letter id, calls publish with it and marks it requeued, in
// one transaction: a failed publish leaves the letter waiting, and two
// concurrent calls publish it once. A crash after publish and before the
// commit can publish it twice, which the idempotent command handlers
// absorb.
func Requeue(ctx context.Context, pool *pgxpool.Pool, id int64, publish func(context.Context, Letter) error) (Letter, error) {
	var letter Letter

	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error

		letter, err = Lock(ctx, tx, id)
		if err != nil {
			return err
		}

		if letter.RequeuedAt != nil {
			return ErrAlreadyRequeued
		}

		if err := publish(ctx, letter); err != nil {
			return err
		}

		at, err := MarkRequeued(ctx, tx, id)
		letter.RequeuedAt = &at

		return err
	})

	return letter, err
}
