package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// rule is a rule as the engine evaluates it, with its state.
type rule struct {
	id      uuid.UUID
	version int
	spec    events.RuleSpec

	window   int64
	cooldown int64
	lateness int64

	// seen is false until the first matching event; newest is the newest
	// event time among matching events, in Unix nanoseconds.
	seen   bool
	newest int64
	// sweptAt is newest at the last sweep of idle keys.
	sweptAt int64
	keys    map[string]*window
}

func newRule(id uuid.UUID, version int, spec events.RuleSpec) *rule {
	r := &rule{
		id:       id,
		version:  version,
		spec:     spec,
		window:   int64(spec.WindowSeconds) * int64(time.Second),
		cooldown: int64(spec.CooldownSeconds) * int64(time.Second),
		keys:     map[string]*window{},
	}

	r.lateness = r.window
	if spec.AllowedLatenessSeconds != nil {
		r.lateness = int64(*spec.AllowedLatenessSeconds) * int64(time.Second)
	}

	return r
}

// matches reports whether event passes the rule's filters and, for a
// required_fields rule, has its event type.
func (r *rule) matches(event *events.IngestedEvent) bool {
	condition := r.spec.Condition
	if f := condition.Filters; f != nil {
		if f.EventType != "" && f.EventType != event.EventType {
			return false
		}
		if f.Source != "" && f.Source != event.Source {
			return false
		}
	}

	if condition.Type == events.ConditionRequiredFields && condition.EventType != "" {
		return condition.EventType == event.EventType
	}

	return true
}

// admit records at as seen and reports whether an event at that time is
// within the rule's lateness. The newest time moves to at but not past
// receivedAt, so an event stamped ahead of the server's clock does not make
// the on-time events of other sources late.
func (r *rule) admit(at, receivedAt int64) bool {
	if r.seen && at < r.newest-r.lateness {
		return false
	}

	mark := min(at, receivedAt)
	if !r.seen || mark > r.newest {
		r.newest = mark
		r.seen = true
	}

	return true
}

// windowOf returns the state of key, creating it.
func (r *rule) windowOf(key string) *window {
	w := r.keys[key]
	if w == nil {
		w = &window{}
		r.keys[key] = w
	}

	return w
}

// evict drops what no admissible event can count any more: from w on every
// call, and from every key once newest has moved a window past the last
// sweep, deleting keys left empty.
func (r *rule) evict(w *window) {
	entriesUntil := r.newest - r.lateness - r.window
	firedUntil := r.newest - r.lateness - r.cooldown
	w.evict(entriesUntil, firedUntil)

	if r.newest-r.sweptAt < max(r.window, r.cooldown, int64(time.Second)) {
		return
	}

	r.sweptAt = r.newest
	for key, kw := range r.keys {
		kw.evict(entriesUntil, firedUntil)
		if kw.empty() {
			delete(r.keys, key)
		}
	}
}

// groupKey returns the key of event under the rule's group_by.
func (r *rule) groupKey(event *events.IngestedEvent, payload *lazyPayload) string {
	groupBy := r.spec.Condition.GroupBy
	if len(groupBy) == 0 {
		return ""
	}

	parts := make([]string, len(groupBy))
	for i, name := range groupBy {
		parts[i] = name + "=" + keyValue(name, event, payload)
	}

	return strings.Join(parts, ", ")
}

func keyValue(name string, event *events.IngestedEvent, payload *lazyPayload) string {
	switch name {
	case "source":
		return strconv.Quote(event.Source)
	case "event_type":
		return strconv.Quote(event.EventType)
	}

	value, ok := payload.lookup(strings.TrimPrefix(name, "payload."))
	if !ok {
		return "(missing)"
	}

	if s, isString := value.(string); isString {
		return strconv.Quote(s)
	}

	text, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprintf("%v", value)
	}

	return string(text)
}

// lazyPayload decodes an event's payload on first use, once for every rule.
type lazyPayload struct {
	raw     json.RawMessage
	decoded bool
	object  map[string]any
}

// lookup returns the value at a dotted path of the payload.
func (p *lazyPayload) lookup(path string) (any, bool) {
	if !p.decoded {
		p.decoded = true
		decoder := json.NewDecoder(bytes.NewReader(p.raw))
		decoder.UseNumber()
		_ = decoder.Decode(&p.object)
	}

	var current any = p.object
	for part := range strings.SplitSeq(path, ".") {
		object, ok := current.(map[string]any)
		if !ok {
			return nil, false
		}

		current, ok = object[part]
		if !ok {
			return nil, false
		}
	}

	return current, true
}
