package tests

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/eventpulse/eventpulse/events"
)

// referenceRule is a threshold rule with the ">" operator, evaluated by
// referenceDetect with a plain quadratic loop over the events, written
// apart from the engine so the two can be compared.
type referenceRule struct {
	ID        uuid.UUID
	EventType string
	Source    string
	// GroupPath is a payload field to group by, or "".
	GroupPath string
	Value     int
	Window    time.Duration
	Cooldown  time.Duration
	Lateness  time.Duration
}

// referenceDetect returns the anomalies of rule over evs in order, and how
// many matching events were skipped as late.
func referenceDetect(rule referenceRule, evs []events.IngestedEvent) ([]found, int) {
	type seen struct {
		key string
		at  time.Time
	}

	var kept, fired []seen
	var out []found
	var newest time.Time
	late := 0

	for _, e := range evs {
		if (rule.EventType != "" && e.EventType != rule.EventType) || (rule.Source != "" && e.Source != rule.Source) {
			continue
		}

		at := e.Timestamp
		if at.After(e.ReceivedAt.Add(5 * time.Minute)) {
			at = e.ReceivedAt
		}

		if !newest.IsZero() && newest.Sub(at) > rule.Lateness {
			late++
			continue
		}
		if at.After(newest) {
			newest = at
		}

		key := referenceKey(rule.GroupPath, e.Payload)
		kept = append(kept, seen{key, at})

		count := 0
		for _, k := range kept {
			if k.key == key && k.at.After(at.Add(-rule.Window)) && !k.at.After(at) {
				count++
			}
		}
		if count <= rule.Value {
			continue
		}

		cooling := false
		for _, f := range fired {
			if f.key == key && f.at.After(at.Add(-rule.Cooldown)) && !f.at.After(at) {
				cooling = true
			}
		}
		if cooling {
			continue
		}

		fired = append(fired, seen{key, at})
		out = append(out, found{RuleID: rule.ID, EventID: e.EventID, GroupKey: key, At: at.UTC(), Observed: float64(count)})
	}

	return out, late
}

// referenceKey formats a group key as the API documents it, for one
// payload field holding a string.
func referenceKey(path string, payload json.RawMessage) string {
	if path == "" {
		return ""
	}

	var object map[string]any
	_ = json.Unmarshal(payload, &object)
	value, ok := object[path].(string)
	if !ok {
		return "payload." + path + "=(missing)"
	}

	return "payload." + path + "=" + strconv.Quote(value)
}

// referenceAll runs every rule and returns the anomalies sorted.
func referenceAll(evs []events.IngestedEvent, rules ...referenceRule) ([]found, int) {
	var all []found
	late := 0
	for _, rule := range rules {
		list, n := referenceDetect(rule, evs)
		all = append(all, list...)
		late += n
	}

	return sortFound(all), late
}
