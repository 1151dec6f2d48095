package ingest

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestIDGeneratorVersion7InOrder(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ids := newIDGenerator(now, MaxBatchEvents)
	seen := make(map[uuid.UUID]bool)
	var previous uuid.UUID

	for i := range MaxBatchEvents {
		id := ids.next()
		require.Equal(t, uuid.Version(7), id.Version(), "id %d", i)
		require.Equal(t, uuid.RFC4122, id.Variant(), "id %d", i)
		require.Equal(t, now.UnixMilli(), time.Unix(id.Time().UnixTime()).UnixMilli(), "id %d", i)
		require.False(t, seen[id], "id %d repeats", i)
		seen[id] = true

		if i > 0 {
			require.Equal(t, 1, bytes.Compare(id[:], previous[:]), "id %d sorts before id %d", i, i-1)
		}
		previous = id
	}
}

func TestIDGeneratorRequestsDiffer(t *testing.T) {
	t.Parallel()

	now := time.Now()
	seen := make(map[uuid.UUID]bool)

	for range 2000 {
		id := newIDGenerator(now, 1).next()
		require.False(t, seen[id], "%s repeats", id)
		seen[id] = true
	}
}

func TestIDGeneratorSequenceOverflow(t *testing.T) {
	t.Parallel()

	now := time.Now()
	ids := newIDGenerator(now, 1)
	ids.next()
	ids.sequence = 0x0fff

	last := ids.next()
	next := ids.next()
	require.Equal(t, 1, bytes.Compare(next[:], last[:]))
	require.Equal(t, now.UnixMilli()+1, time.Unix(next.Time().UnixTime()).UnixMilli())
}
