package projection

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Savepoint statements of recordTx. A record's savepoint stays open until
// the next record releases it in the round trip that opens its own, or
// until the batch commits. A failed record rolls back to it, which keeps
// it open.
const (
	savepointStatement  = `SAVEPOINT projection_record`
	releaseStatement    = `RELEASE SAVEPOINT projection_record`
	rollbackToStatement = `ROLLBACK TO SAVEPOINT projection_record`
)

// recordTx is the transaction a projector applies one record with. The
// record's savepoint is opened lazily: its statements go to PostgreSQL in
// one batch with the projector's first Exec, so opening it costs no round
// trip of its own. A record that sends no statement opens no savepoint,
// because it has nothing to roll back.
type recordTx struct {
	pgx.Tx
	// pending are the savepoint statements not sent yet.
	pending []string
	// opened reports that the savepoint statements ran.
	opened bool
	// failedOpening reports that a savepoint statement failed, which
	// leaves the transaction aborted with no savepoint to return to.
	failedOpening bool
}

// newRecordTx wraps tx for one record. releasePrevious releases the open
// savepoint of the previous record before opening this one.
func newRecordTx(tx pgx.Tx, releasePrevious bool) *recordTx {
	pending := []string{savepointStatement}
	if releasePrevious {
		pending = []string{releaseStatement, savepointStatement}
	}

	return &recordTx{Tx: tx, pending: pending}
}

// Exec runs sql after the pending savepoint statements, in one batch.
func (t *recordTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(t.pending) == 0 {
		return t.Tx.Exec(ctx, sql, args...)
	}
	if len(args) > 0 {
		// A query mode or rewriter in args applies to Exec, not to a batch.
		switch args[0].(type) {
		case pgx.QueryExecMode, pgx.QueryRewriter:
			if err := t.sendPending(ctx); err != nil {
				return pgconn.CommandTag{}, err
			}

			return t.Tx.Exec(ctx, sql, args...)
		}
	}

	batch := t.pendingBatch()
	batch.Queue(sql, args...)

	results := t.Tx.SendBatch(ctx, batch)
	for range t.pending {
		if _, err := results.Exec(); err != nil {
			t.pending, t.failedOpening = nil, true

			return pgconn.CommandTag{}, errors.Join(err, results.Close())
		}
	}
	t.pending, t.opened = nil, true

	tag, err := results.Exec()
	closeErr := results.Close()
	if err != nil {
		return tag, err
	}

	return tag, closeErr
}

// pendingBatch returns a batch of the pending savepoint statements.
func (t *recordTx) pendingBatch() *pgx.Batch {
	batch := &pgx.Batch{}
	for _, statement := range t.pending {
		batch.Queue(statement)
	}

	return batch
}

// sendPending sends the pending savepoint statements before a statement
// that cannot share their batch.
func (t *recordTx) sendPending(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}

	if err := t.Tx.SendBatch(ctx, t.pendingBatch()).Close(); err != nil {
		t.pending, t.failedOpening = nil, true

		return err
	}
	t.pending, t.opened = nil, true

	return nil
}

// Query runs sql after the pending savepoint statements.
func (t *recordTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.sendPending(ctx); err != nil {
		return nil, err
	}

	return t.Tx.Query(ctx, sql, args...)
}

// QueryRow runs sql after the pending savepoint statements.
func (t *recordTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.sendPending(ctx); err != nil {
		return errorRow{err: err}
	}

	return t.Tx.QueryRow(ctx, sql, args...)
}

// SendBatch sends b after the pending savepoint statements.
func (t *recordTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.sendPending(ctx); err != nil {
		return errorBatchResults{err: err}
	}

	return t.Tx.SendBatch(ctx, b)
}

// CopyFrom copies rows after the pending savepoint statements.
func (t *recordTx) CopyFrom(
	ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource,
) (int64, error) {
	if err := t.sendPending(ctx); err != nil {
		return 0, err
	}

	return t.Tx.CopyFrom(ctx, table, columns, rows)
}

// Begin starts a nested transaction after the pending savepoint
// statements.
func (t *recordTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.sendPending(ctx); err != nil {
		return nil, err
	}

	return t.Tx.Begin(ctx)
}

// Prepare prepares sql after the pending savepoint statements.
func (t *recordTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := t.sendPending(ctx); err != nil {
		return nil, err
	}

	return t.Tx.Prepare(ctx, name, sql)
}

// Commit returns an error, because the subscriber commits the batch's
// transaction.
func (t *recordTx) Commit(context.Context) error {
	return errors.New("projection: a projector must not commit the log subscriber's transaction")
}

// Rollback returns an error, because a failed Apply returns its error and
// the handler rolls the record back.
func (t *recordTx) Rollback(context.Context) error {
	return errors.New("projection: a projector must not roll back the log subscriber's transaction")
}

// errorRow is a pgx.Row that returns err from Scan.
type errorRow struct{ err error }

func (r errorRow) Scan(...any) error { return r.err }

// errorBatchResults are the results of a batch that was not sent.
type errorBatchResults struct{ err error }

func (r errorBatchResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, r.err }
func (r errorBatchResults) Query() (pgx.Rows, error)         { return nil, r.err }
func (r errorBatchResults) QueryRow() pgx.Row                { return errorRow(r) }
func (r errorBatchResults) Close() error                     { return r.err }
func (r errorBatchResults) Tx() pgx.Tx                       { return nil }
