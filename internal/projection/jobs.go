package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors of Jobs.Start and Catalog.Rebuildable.
var (
	ErrUnknownProjection = errors.New("unknown projection")
	ErrNotRebuildable    = errors.New("projection cannot be replayed")
)

// Unreplayable is implemented by a projector that a replay must not rebuild,
// to tell users why.
type Unreplayable interface {
	// UnreplayableReason returns the reason as a clause that can follow
	// "because".
	UnreplayableReason() string
}

// Catalog is the set of projectors a process knows, by projection name.
type Catalog struct {
	projectors map[string]Projector
}

// NewCatalog returns a catalog of projectors.
func NewCatalog(projectors ...Projector) Catalog {
	catalog := Catalog{projectors: make(map[string]Projector, len(projectors))}
	for _, projector := range projectors {
		catalog.projectors[ProjectionName(projector.Name())] = projector
	}

	return catalog
}

// Names returns the projection names, sorted.
func (c Catalog) Names() []string {
	names := make([]string, 0, len(c.projectors))
	for name := range c.projectors {
		names = append(names, name)
	}

	sort.Strings(names)

	return names
}

// RebuildableNames returns the names of the projections a replay can
// rebuild, sorted.
func (c Catalog) RebuildableNames() []string {
	var names []string
	for _, name := range c.Names() {
		if _, ok := c.projectors[name].(Rebuildable); ok {
			names = append(names, name)
		}
	}

	return names
}

// Lookup returns the projector of a projection name or of a consumer group.
func (c Catalog) Lookup(name string) (Projector, bool) {
	projector, ok := c.projectors[ProjectionName(name)]

	return projector, ok
}

// Rebuildable returns the projector of name when a replay can rebuild it.
// Both errors list the projections a replay can rebuild.
func (c Catalog) Rebuildable(name string) (Rebuildable, error) {
	projector, ok := c.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q (%s)", ErrUnknownProjection, name, c.DescribeReplayable())
	}

	rebuildable, ok := projector.(Rebuildable)
	if !ok {
		return nil, fmt.Errorf("%w: %q%s (replayable projections: %s)", ErrNotRebuildable, name,
			becauseOf(projector), strings.Join(c.RebuildableNames(), ", "))
	}

	return rebuildable, nil
}

// DescribeReplayable returns the names of the projections a replay can
// rebuild, followed by each known projection it cannot rebuild and why.
func (c Catalog) DescribeReplayable() string {
	text := "replayable projections: " + strings.Join(c.RebuildableNames(), ", ")
	for _, sentence := range c.Unreplayable() {
		text += "; " + sentence
	}

	return text
}

// Unreplayable returns, for each known projection that a replay cannot
// rebuild, a sentence without a final period that states so and why.
func (c Catalog) Unreplayable() []string {
	var sentences []string
	for _, name := range c.Names() {
		projector := c.projectors[name]
		if _, ok := projector.(Rebuildable); !ok {
			sentences = append(sentences, name+" cannot be replayed"+becauseOf(projector))
		}
	}

	return sentences
}

// becauseOf returns ", because " and the reason projector gives for not
// being replayable, or "" when it gives none.
func becauseOf(projector Projector) string {
	unreplayable, ok := projector.(Unreplayable)
	if !ok {
		return ""
	}

	return ", because " + unreplayable.UnreplayableReason()
}

// Jobs runs replays in the background of a long-running process.
type Jobs struct {
	pool    *pgxpool.Pool
	catalog Catalog
	logger  *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	running map[string]uuid.UUID
	done    sync.WaitGroup
}

// NewJobs returns a runner of replays over the projectors of catalog.
func NewJobs(pool *pgxpool.Pool, catalog Catalog, logger *slog.Logger) *Jobs {
	if pool == nil || logger == nil {
		panic("projection: NewJobs needs a pool and a logger")
	}

	ctx, cancel := context.WithCancel(context.Background())

	return &Jobs{
		pool:    pool,
		catalog: catalog,
		logger:  logger,
		ctx:     ctx,
		cancel:  cancel,
		running: make(map[string]uuid.UUID),
	}
}

// Catalog returns the projectors the jobs can replay.
func (j *Jobs) Catalog() Catalog { return j.catalog }

// Start begins a replay of the named projection in the background and
// returns its job id. It returns ErrUnknownProjection, ErrNotRebuildable,
// ErrInvalidFrom or ErrReplayRunning when the replay cannot start.
func (j *Jobs) Start(ctx context.Context, name string, from *int64) (uuid.UUID, error) {
	projector, err := j.catalog.Rebuildable(name)
	if err != nil {
		return uuid.Nil, err
	}

	name = ProjectionName(projector.Name())
	if err := checkFrom(ctx, j.pool, projector, from); err != nil {
		return uuid.Nil, err
	}

	j.mu.Lock()
	defer j.mu.Unlock()

	if _, ok := j.running[name]; ok {
		return uuid.Nil, fmt.Errorf("error starting the replay of %q: %w", name, ErrReplayRunning)
	}

	active, err := ReplayActive(ctx, j.pool, name)
	if err != nil {
		return uuid.Nil, err
	}

	if active {
		return uuid.Nil, fmt.Errorf("error starting the replay of %q: %w", name, ErrReplayRunning)
	}

	jobID := uuid.New()
	j.running[name] = jobID
	j.done.Go(func() { j.run(name, jobID, projector, from) })

	return jobID, nil
}

func (j *Jobs) run(name string, jobID uuid.UUID, projector Rebuildable, from *int64) {
	defer func() {
		j.mu.Lock()
		delete(j.running, name)
		j.mu.Unlock()
	}()

	_, err := Replay(j.ctx, ReplayConfig{
		Pool:      j.pool,
		Projector: projector,
		From:      from,
		JobID:     jobID,
		Logger:    j.logger,
	})
	if err != nil && j.ctx.Err() == nil {
		j.logger.Error("replay: job failed", slog.String("projection", name),
			slog.String("job_id", jobID.String()), slog.Any("error", err))
	}
}

// Close interrupts the running replays and waits for them to store their
// position, so they resume when started again.
func (j *Jobs) Close() {
	j.cancel()
	j.done.Wait()
}
