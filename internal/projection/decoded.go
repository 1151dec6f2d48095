package projection

import (
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/eventpulse/eventpulse/events"
)

// DecodedDefaultBytes is the payload size a Decoded keeps by default: by an
// estimate of 500 bytes of payload per event, 0.4 s of EventsIngested
// records at 20,000 events/s, several poll intervals of the projectors.
// Decoded records take about three times their payload in memory; with 16
// MiB, the peak RSS of `make bench` rose from 187 to 231 MiB.
const DecodedDefaultBytes = 4 << 20

// Bounds of the ids Held returns. An EventsIngested record of 40 events of
// 400 bytes has about 20 KiB of payload, so 4 MiB keeps about 200 of them.
const (
	heldMinBytes = 4 << 10
	heldMaxIDs   = 256
)

// Decoded keeps the events decoded from the latest log records, so the
// projectors of one process that read the same record decode it once.
// Three projectors read every EventsIngested record, and decoding took a
// fifth of the worker's CPU in a profile of it catching up on single
// events. Projectors read the events they are given and
// never change them, so one value is shared by all. Records leave in the
// order they came, once the payloads kept pass maxBytes.
type Decoded struct {
	maxBytes int

	mu      sync.Mutex
	entries map[string]decodedEntry
	order   []string
	bytes   int
}

type decodedEntry struct {
	event events.Event
	bytes int
}

// NewDecoded returns a Decoded that keeps up to maxBytes of payload, or
// DecodedDefaultBytes when maxBytes is 0.
func NewDecoded(maxBytes int) *Decoded {
	if maxBytes == 0 {
		maxBytes = DecodedDefaultBytes
	}

	return &Decoded{maxBytes: maxBytes, entries: map[string]decodedEntry{}}
}

// Decode returns the event of msg, decoding it unless another projector
// did. A nil Decoded decodes every time.
func (d *Decoded) Decode(msg *message.Message) (events.Event, error) {
	if d == nil {
		return events.Decode(msg)
	}

	if event, ok := d.Lookup(msg.UUID); ok {
		return event, nil
	}

	event, err := events.Decode(msg)
	if err != nil {
		return nil, err
	}

	d.add(msg.UUID, event, len(msg.Payload))

	return event, nil
}

func (d *Decoded) add(id string, event events.Event, bytes int) {
	if bytes > d.maxBytes {
		return
	}

	d.mu.Lock()
	defer d.mu.Unlock()

	if _, ok := d.entries[id]; ok {
		return
	}

	d.entries[id] = decodedEntry{event: event, bytes: bytes}
	d.order = append(d.order, id)
	d.bytes += bytes

	evicted := 0
	for d.bytes > d.maxBytes {
		oldest := d.order[evicted]
		d.bytes -= d.entries[oldest].bytes
		delete(d.entries, oldest)
		evicted++
	}

	// append moves the rest to a new array once this one is full, so the
	// evicted prefix does not accumulate.
	d.order = d.order[evicted:]
}

// Held returns the ids of the newest records kept whose payload had at
// least heldMinBytes, at most heldMaxIDs of them. A log subscriber reads
// these records without their payload (see eventlog.SubscriberConfig), so
// smaller ones, which cost little to read again, are left out to keep the
// list short.
func (d *Decoded) Held() []string {
	d.mu.Lock()
	defer d.mu.Unlock()

	var ids []string
	for i := len(d.order) - 1; i >= 0 && len(ids) < heldMaxIDs; i-- {
		if id := d.order[i]; d.entries[id].bytes >= heldMinBytes {
			ids = append(ids, id)
		}
	}

	return ids
}

// Lookup returns the event of the record id if it is kept.
func (d *Decoded) Lookup(id string) (events.Event, bool) {
	if d == nil {
		return nil, false
	}

	d.mu.Lock()
	defer d.mu.Unlock()

	entry, ok := d.entries[id]

	return entry.event, ok
}

// Len returns the number of records kept.
func (d *Decoded) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()

	return len(d.entries)
}
