package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// ListProjections implements oas.Handler.
func (a *API) ListProjections(ctx context.Context) (*oas.ProjectionList, error) {
	statuses, err := projection.Overview(ctx, a.pool, a.replays.Catalog())
	if err != nil {
		return nil, err
	}

	list := &oas.ProjectionList{Data: make([]oas.Projection, 0, len(statuses))}
	for _, s := range statuses {
		list.Data = append(list.Data, oas.Projection{
			Name:           s.Name,
			ConsumerGroup:  s.ConsumerGroup,
			Replayable:     s.Replayable,
			Position:       s.Position,
			Head:           s.Head,
			LagRecords:     s.LagRecords,
			LagSeconds:     s.Lag.Seconds(),
			State:          oas.ProjectionState(s.State),
			LastError:      optString(s.LastError),
			LastErrorAt:    optTime(s.LastErrorAt),
			LastAdvancedAt: optTime(s.LastAdvancedAt),
		})
	}

	return list, nil
}

// ReplayProjection implements oas.Handler.
func (a *API) ReplayProjection(
	ctx context.Context,
	req oas.OptReplayRequest,
	params oas.ReplayProjectionParams,
) (oas.ReplayProjectionRes, error) {
	var from *int64
	if v, ok := req.Value.From.Get(); req.Set && ok {
		from = &v
	}

	jobID, err := a.replays.Start(ctx, params.Name, from)
	switch {
	case errors.Is(err, projection.ErrUnknownProjection):
		return nil, Errorf(http.StatusNotFound, "Projection not found: %s", params.Name)
	case errors.Is(err, projection.ErrNotRebuildable):
		return nil, Errorf(http.StatusConflict, "projection %s cannot be replayed", params.Name)
	case errors.Is(err, projection.ErrInvalidFrom):
		return nil, Errorf(http.StatusBadRequest, "from: %v", err)
	case errors.Is(err, projection.ErrReplayRunning):
		return nil, Errorf(http.StatusConflict, "a replay of projection %s is already running", params.Name)
	case err != nil:
		return nil, err
	}

	projector, _ := a.replays.Catalog().Lookup(params.Name)

	return &oas.ReplayAccepted{
		JobID:      jobID,
		Projection: projection.ProjectionName(projector.Name()),
		Status:     oas.ReplayAcceptedStatusRunning,
	}, nil
}

// GetProjectionReplay implements oas.Handler.
func (a *API) GetProjectionReplay(
	ctx context.Context,
	params oas.GetProjectionReplayParams,
) (oas.GetProjectionReplayRes, error) {
	projector, ok := a.replays.Catalog().Lookup(params.Name)
	if !ok {
		return nil, Errorf(http.StatusNotFound, "Projection not found: %s", params.Name)
	}

	name := projection.ProjectionName(projector.Name())

	state, found, err := projection.LoadReplayState(ctx, a.pool, name)
	if err != nil {
		return nil, err
	}

	if !found {
		return nil, Errorf(http.StatusNotFound, "projection %s was never replayed", name)
	}

	if state.Status == projection.ReplayRunning {
		active, err := projection.ReplayActive(ctx, a.pool, name)
		if err != nil {
			return nil, err
		}

		if !active {
			state.Status = projection.ReplayInterrupted
		}
	}

	return replayProgress(state), nil
}

// replayProgress converts state, with its rate averaged since the replay
// started.
func replayProgress(state projection.ReplayState) *oas.ReplayProgress {
	progress := &oas.ReplayProgress{
		JobID:          state.JobID,
		Projection:     state.Projection,
		Status:         oas.ReplayProgressStatus(state.Status),
		From:           state.FromOffset,
		Position:       state.Position.Offset,
		RecordsRead:    state.RecordsRead,
		RecordsApplied: state.RecordsApplied,
		RecordsTotal:   state.RecordsTotal,
		Error:          optString(state.Error),
		StartedAt:      state.StartedAt,
		UpdatedAt:      state.UpdatedAt,
		FinishedAt:     optTime(state.FinishedAt),
	}

	elapsed := state.UpdatedAt.Sub(state.StartedAt).Seconds()
	if elapsed > 0 && state.RecordsRead > 0 {
		progress.Rate = float64(state.RecordsRead) / elapsed
		progress.RemainingSeconds = float64(state.RecordsTotal-state.RecordsRead) / progress.Rate
	}

	return progress
}

func optString(s string) oas.OptNilString {
	if s == "" {
		return oas.OptNilString{}
	}

	return oas.NewOptNilString(s)
}

func optTime(t time.Time) oas.OptNilDateTime {
	if t.IsZero() {
		return oas.OptNilDateTime{}
	}

	return oas.NewOptNilDateTime(t.UTC())
}
