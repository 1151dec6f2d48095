package projection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/eventlog"
)

// ReplayBatchSizeDefault is how many log records a replay reads and
// applies per transaction.
const ReplayBatchSizeDefault = 100

// ErrReplayRunning is returned by Replay when another replay of the same
// projection holds its lock.
var ErrReplayRunning = errors.New("a replay of this projection is already running")

// ErrInvalidFrom is returned when a replay's start position cannot give a
// useful table: it is negative, it leaves no record to apply, or the
// projection must be rebuilt from the whole log.
var ErrInvalidFrom = errors.New("invalid start position")

// WholeLogOnly is implemented by a Rebuildable whose tables are wrong when
// built from part of the log, such as api_keys, where a table without the
// earlier keys would turn authentication off. A replay of it rejects From.
type WholeLogOnly interface {
	WholeLogOnly() bool
}

// checkFrom rejects a start position that would leave the projection
// without the effect of records it needs: any position for a WholeLogOnly
// projection, a negative one, and one at or past the log's last record.
// Position 0 replays the whole log.
func checkFrom(ctx context.Context, pool *pgxpool.Pool, projector Rebuildable, from *int64) error {
	if from == nil {
		return nil
	}

	name := ProjectionName(projector.Name())
	if whole, ok := projector.(WholeLogOnly); ok && whole.WholeLogOnly() && *from != 0 {
		return fmt.Errorf("%w: projection %s is only replayed from the start of the log, "+
			"because its table is wrong without the earlier records", ErrInvalidFrom, name)
	}

	if *from < 0 {
		return fmt.Errorf("%w: position %d is negative", ErrInvalidFrom, *from)
	}

	if *from == 0 {
		return nil
	}

	var head int64
	err := pool.QueryRow(ctx, `SELECT coalesce(max("offset"), 0) FROM event_log`).Scan(&head)
	if err != nil {
		return fmt.Errorf("error reading the log head: %w", err)
	}

	if *from >= head {
		return fmt.Errorf("%w: position %d is at or past the end of the log (last record %d), "+
			"so the rebuilt tables would be empty", ErrInvalidFrom, *from, head)
	}

	return nil
}

// ReplayConfig configures Replay.
type ReplayConfig struct {
	// Pool connects to the database of the log. Required.
	Pool *pgxpool.Pool
	// Projector is the projector to rebuild. Required.
	Projector Rebuildable
	// From, when set, replays only the records whose offset is above it
	// into empty copies of the tables, so the rebuilt tables hold the
	// effect of those records alone. When nil, an unfinished replay
	// resumes with its own From, and otherwise the whole log is replayed.
	// A From that differs from the unfinished replay's starts over.
	From *int64
	// BatchSize is how many records are applied per transaction.
	// Default: ReplayBatchSizeDefault.
	BatchSize int
	// JobID names this run in projection_replays. Default: a new UUID.
	JobID uuid.UUID
	// Progress, when set, is called after each committed batch and once
	// more when the replay ends.
	Progress func(ReplayProgress)
	// Logger logs the start and the end of the replay. Default: discards.
	Logger *slog.Logger
}

// ReplayProgress is a replay's state with the rate of this run.
type ReplayProgress struct {
	ReplayState
	// Rate is records read per second since this run started.
	Rate float64
	// Remaining estimates the time left at Rate, or is zero when unknown.
	Remaining time.Duration
}

type replay struct {
	config    ReplayConfig
	name      string
	tables    []string
	copy      Projector
	state     ReplayState
	runStart  time.Time
	runFirst  int64
	batchSize int
	// skipped names the events the copy does not handle, read without
	// their payload.
	skipped []string
}

// Replay rebuilds config.Projector's tables from the log into new tables
// while the live ones keep serving, then swaps them in and moves the
// projector's offset in one transaction. Its position is stored after each
// batch, so a replay interrupted by ctx resumes where it stopped when
// Replay runs again. Only one replay per projection runs at a time across
// processes, and a second one returns ErrReplayRunning.
func Replay(ctx context.Context, config ReplayConfig) (ReplayProgress, error) {
	if config.Pool == nil || config.Projector == nil {
		panic("projection: Replay needs a pool and a projector")
	}

	r := &replay{
		config:    config,
		name:      ProjectionName(config.Projector.Name()),
		tables:    config.Projector.Tables(),
		batchSize: cmp.Or(config.BatchSize, ReplayBatchSizeDefault),
	}
	r.copy = config.Projector.WithTables(copyNames(r.tables))
	r.skipped = skippedNames(r.copy)
	if err := checkFrom(ctx, config.Pool, config.Projector, config.From); err != nil {
		return ReplayProgress{}, err
	}

	if r.config.Logger == nil {
		r.config.Logger = slog.New(slog.DiscardHandler)
	}

	conn, err := config.Pool.Acquire(ctx)
	if err != nil {
		return ReplayProgress{}, fmt.Errorf("error connecting for the replay of %q: %w", r.name, err)
	}
	defer conn.Release()

	unlock, err := r.lock(ctx, conn.Conn())
	if err != nil {
		return ReplayProgress{}, err
	}
	defer unlock()

	err = r.run(ctx, conn.Conn())
	if err != nil {
		r.finish(ctx, config.Pool, err)
	}

	progress := r.progress()
	if config.Progress != nil {
		config.Progress(progress)
	}

	return progress, err
}

// lock takes the projection's replay lock on conn, which holds it until
// unlock runs or the connection closes.
func (r *replay) lock(ctx context.Context, conn *pgx.Conn) (func(), error) {
	var locked bool

	err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))`,
		replayLockNamespace, r.name).Scan(&locked)
	if err != nil {
		return nil, fmt.Errorf("error locking the replay of %q: %w", r.name, err)
	}

	if !locked {
		return nil, fmt.Errorf("error starting the replay of %q: %w", r.name, ErrReplayRunning)
	}

	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`,
			replayLockNamespace, r.name)
	}, nil
}

// run prepares, applies batches until the copies are caught up and swaps.
// Its statements run without ctx's cancellation, because pgx closes a
// connection whose query is cancelled, and that would end the session
// holding the replay lock at an unknown point. Instead ctx is checked
// between batches, so an interrupt takes effect within one batch.
func (r *replay) run(ctx context.Context, conn *pgx.Conn) error {
	db := context.WithoutCancel(ctx)

	err := pgx.BeginFunc(db, conn, func(tx pgx.Tx) error { return r.prepare(db, tx) })
	if err != nil {
		return err
	}

	r.config.Logger.InfoContext(ctx, "replay: started", slog.String("projection", r.name),
		slog.String("job_id", r.state.JobID.String()), slog.Int64("from_offset", r.state.FromOffset),
		slog.Int64("position", r.state.Position.Offset), slog.Int64("records_total", r.state.RecordsTotal))

	for {
		if err := ctx.Err(); err != nil {
			return err
		}

		var read int

		err := pgx.BeginFunc(db, conn, func(tx pgx.Tx) error {
			var err error
			read, err = r.applyBatch(db, tx)
			if err != nil {
				return err
			}

			return saveReplayState(db, tx, r.state)
		})
		if err != nil {
			return err
		}

		if read == 0 {
			break
		}

		if r.config.Progress != nil {
			r.config.Progress(r.progress())
		}
	}

	err = pgx.BeginFunc(db, conn, func(tx pgx.Tx) error { return createMissingIndexes(db, tx, r.tables) })
	if err != nil {
		return err
	}

	err = pgx.BeginFunc(db, conn, func(tx pgx.Tx) error { return r.swap(db, tx) })
	if err != nil {
		return err
	}

	r.config.Logger.InfoContext(ctx, "replay: completed", slog.String("projection", r.name),
		slog.String("job_id", r.state.JobID.String()), slog.Int64("position", r.state.Position.Offset),
		slog.Int64("records_read", r.state.RecordsRead), slog.Int64("records_applied", r.state.RecordsApplied),
		slog.Duration("duration", time.Since(r.runStart)))

	return nil
}

// prepare resumes the stored replay when it is unfinished, its copies
// exist and From does not ask for another start, and otherwise creates
// empty copies and a fresh state.
func (r *replay) prepare(ctx context.Context, tx pgx.Tx) error {
	stored, found, err := LoadReplayState(ctx, tx, r.name)
	if err != nil {
		return err
	}

	exist, err := copiesExist(ctx, tx, r.tables)
	if err != nil {
		return err
	}

	resume := found && stored.Status != ReplayCompleted && exist &&
		(r.config.From == nil || *r.config.From == stored.FromOffset)
	if resume {
		r.state = stored
	} else {
		if err := createCopies(ctx, tx, r.tables); err != nil {
			return err
		}

		r.state = ReplayState{Projection: r.name, StartedAt: time.Now()}
		if r.config.From != nil {
			r.state.FromOffset = *r.config.From
		}
	}

	r.state.JobID = r.config.JobID
	if r.state.JobID == uuid.Nil {
		r.state.JobID = uuid.New()
	}

	r.state.Status = ReplayRunning
	r.state.Error = ""
	r.state.FinishedAt = time.Time{}

	left, err := countAfter(ctx, tx, r.state.Position, r.state.FromOffset)
	if err != nil {
		return err
	}

	r.state.RecordsTotal = r.state.RecordsRead + left
	r.runStart = time.Now()
	r.runFirst = r.state.RecordsRead

	return saveReplayState(ctx, tx, r.state)
}

// applyBatch applies the next batch of records after the replay's position
// to the copies and returns how many records it read.
func (r *replay) applyBatch(ctx context.Context, tx pgx.Tx) (int, error) {
	records, err := readAfter(ctx, tx, r.state.Position, r.state.FromOffset, r.batchSize, r.skipped)
	if err != nil {
		return 0, err
	}

	replayCtx := WithReplay(ctx)

	var gathering Gathering
	if gatherer, ok := r.copy.(Gatherer); ok {
		gathering = gatherer.Gather()
	}

	for _, record := range records {
		if err := r.apply(replayCtx, tx, record, gathering); err != nil {
			return 0, err
		}

		r.state.Position = record.position
		r.state.RecordsRead++
	}

	if gathering != nil {
		if err := gathering.Flush(replayCtx, tx); err != nil {
			return 0, fmt.Errorf("error writing a batch of %d records into %q: %w", len(records), r.name, err)
		}
	}

	return len(records), nil
}

// apply applies record to the copies, or adds it to gathering when the
// projector is a Gatherer.
func (r *replay) apply(ctx context.Context, tx pgx.Tx, record logRecord, gathering Gathering) error {
	name := record.msg.Metadata.Get(events.MetaName)
	if !r.copy.Handles(name) {
		return nil
	}

	event, err := events.Decode(record.msg)
	if err != nil {
		return err
	}

	meta := Meta{
		RecordID: record.msg.UUID,
		Position: eventlog.Position{TransactionID: record.position.TransactionID, Offset: record.position.Offset},
		Envelope: events.EnvelopeOf(record.msg),
	}

	if gathering != nil {
		err = gathering.Add(event, meta)
	} else {
		err = r.copy.Apply(ctx, tx, event, meta)
	}
	if err != nil {
		return fmt.Errorf("error replaying record %q (offset %d) into %q: %w",
			record.msg.UUID, record.position.Offset, r.name, err)
	}

	r.state.RecordsApplied++

	return nil
}

// swap locks the live projector's offset row, which pauses the live
// projector, applies the records it has not seen, swaps the tables and
// sets the offset to the replay's last record.
func (r *replay) swap(ctx context.Context, tx pgx.Tx) error {
	group := r.config.Projector.Name()

	_, err := tx.Exec(ctx, `SELECT 1 FROM event_log_offsets WHERE consumer_group = $1 FOR UPDATE`, group)
	if err != nil {
		return fmt.Errorf("error locking the offset of %q: %w", group, err)
	}

	for {
		read, err := r.applyBatch(ctx, tx)
		if err != nil {
			return err
		}

		if read == 0 {
			break
		}
	}

	if err := swapTables(ctx, tx, r.tables); err != nil {
		return err
	}

	if err := r.moveOffset(ctx, tx, group); err != nil {
		return err
	}

	r.state.Status = ReplayCompleted
	r.state.FinishedAt = time.Now()
	r.state.RecordsTotal = r.state.RecordsRead

	return saveReplayState(ctx, tx, r.state)
}
