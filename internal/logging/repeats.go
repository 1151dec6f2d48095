package logging

import (
	"sync"
	"time"
)

// repeatWindow is how long a log line that repeats the message and error
// of an earlier one is dropped.
const repeatWindow = 10 * time.Second

// repeatKeysMax bounds the lines repeats keeps. Past it, it clears them all,
// which at worst writes a line that would have been dropped.
const repeatKeysMax = 1000

// repeats records when each message and error was last written and how
// many times it was dropped since.
type repeats struct {
	mu   sync.Mutex
	last map[string]*repeat
}

func newRepeats() *repeats {
	return &repeats{last: map[string]*repeat{}}
}

type repeat struct {
	written time.Time
	dropped int
}

// admit reports whether the line keyed by key may be written at now, and
// how many lines with the key were dropped since the last one written.
func (r *repeats) admit(key string, now time.Time) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()

	entry, ok := r.last[key]
	if ok && now.Sub(entry.written) < repeatWindow {
		entry.dropped++
		return false, 0
	}

	if !ok {
		if len(r.last) >= repeatKeysMax {
			clear(r.last)
		}
		entry = &repeat{}
		r.last[key] = entry
	}

	dropped := entry.dropped
	entry.written = now
	entry.dropped = 0

	return true, dropped
}
