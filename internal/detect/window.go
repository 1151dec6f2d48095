package detect

import (
	"sort"

	"github.com/google/uuid"
)

// entry is one counted event: its event time in Unix nanoseconds and id.
type entry struct {
	at int64
	id uuid.UUID
}

// window holds the events of one rule and group key sorted by time, equal
// times in arrival order, and the times the rule fired for that key.
type window struct {
	entries []entry
	fired   []int64
}

// add inserts an event after every entry with the same or an earlier time,
// which is a plain append unless the event arrived out of order.
func (w *window) add(at int64, id uuid.UUID) {
	i := w.upperBound(at)
	if i == len(w.entries) {
		w.entries = append(w.entries, entry{at, id})
		return
	}

	w.entries = append(w.entries, entry{})
	copy(w.entries[i+1:], w.entries[i:])
	w.entries[i] = entry{at, id}
}

// count returns the number of entries in (from, to] and the index just past
// the last of them.
func (w *window) count(from, to int64) (n, end int) {
	end = w.upperBound(to)
	start := w.upperBound(from)

	return max(end-start, 0), end
}

// sample returns the ids of up to size entries of (from, to], the latest
// ones, in time order.
func (w *window) sample(from, to int64, size int) []uuid.UUID {
	n, end := w.count(from, to)
	n = min(n, size)
	ids := make([]uuid.UUID, n)
	for i := range n {
		ids[i] = w.entries[end-n+i].id
	}

	return ids
}

// firedIn reports whether the rule fired for this key at a time in
// (from, to].
func (w *window) firedIn(from, to int64) bool {
	end := sort.Search(len(w.fired), func(i int) bool { return w.fired[i] > to })
	start := sort.Search(len(w.fired), func(i int) bool { return w.fired[i] > from })

	return end > start
}

// fire records that the rule fired at time at.
func (w *window) fire(at int64) {
	i := sort.Search(len(w.fired), func(i int) bool { return w.fired[i] > at })
	w.fired = append(w.fired, 0)
	copy(w.fired[i+1:], w.fired[i:])
	w.fired[i] = at
}

// evict drops entries at or before entriesUntil and fired times at or
// before firedUntil.
func (w *window) evict(entriesUntil, firedUntil int64) {
	if i := w.upperBound(entriesUntil); i > 0 {
		w.entries = shrink(w.entries[i:])
	}

	if i := sort.Search(len(w.fired), func(i int) bool { return w.fired[i] > firedUntil }); i > 0 {
		w.fired = shrink(w.fired[i:])
	}
}

func (w *window) empty() bool {
	return len(w.entries) == 0 && len(w.fired) == 0
}

// upperBound returns the index of the first entry later than at.
func (w *window) upperBound(at int64) int {
	return sort.Search(len(w.entries), func(i int) bool { return w.entries[i].at > at })
}

// shrink copies s into a fresh array when it uses less than a quarter of
// its capacity, so the evicted front of a long-lived window is freed.
func shrink[T any](s []T) []T {
	if cap(s) < 64 || len(s) >= cap(s)/4 {
		return s
	}

	return append(make([]T, 0, 2*len(s)), s...)
}
