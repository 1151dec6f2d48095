package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/detect"
)

// Paired bursts: batch b belongs to pair b/2, and each batch of a pair
// contains pairBurstSize "burst" events in each of pairGroups groups of
// that pair, at pairBase + pair seconds. The pair rule fires once per
// group, on the 4th burst event of the group in the batch of the pair that
// comes second in the log. So the groups, times and counts that fire do not
// depend on the order of the batches, and each window spans two log records.
const (
	pairGroups     = 8
	pairBurstSize  = 6
	pairBurstEvery = 10
	pairThreshold  = 2*pairBurstSize - 3
)

var pairBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pairEventID returns the id of event i of batch b, so a batch sent again
// keeps its ids.
func pairEventID(b, i int) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "chaos/pairs/%d/%d", b, i))
}

// pairBatch returns the events of batch b.
func pairBatch(b, size int, source string) ([]uuid.UUID, []map[string]any) {
	pair := b / 2
	at := pairBase.Add(time.Duration(pair) * time.Second)

	ids := make([]uuid.UUID, size)
	items := make([]map[string]any, size)
	for i := range size {
		ids[i] = pairEventID(b, i)
		eventType, payload := "info", map[string]any{"n": i}
		if n := i / pairBurstEvery; i%pairBurstEvery == 0 && n < pairGroups*pairBurstSize {
			eventType, payload["group"] = "burst", pairGroup(pair, n%pairGroups)
		}
		items[i] = map[string]any{
			"event_id":   ids[i],
			"event_type": eventType,
			"source":     source,
			"timestamp":  at.Format(time.RFC3339),
			"payload":    payload,
		}
	}

	return ids, items
}

func pairGroup(pair, group int) string { return fmt.Sprintf("p%d-g%d", pair, group) }

func pairKey(group string) string { return fmt.Sprintf("payload.group=%q", group) }

// createPairRule creates the pair rule through the API and returns its id.
func (inst *installation) createPairRule() uuid.UUID {
	inst.t.Helper()

	body := fmt.Sprintf(`{"name":"paired bursts","severity":"critical","window_seconds":60,
		"cooldown_seconds":60,"allowed_lateness_seconds":3600,"condition":{"type":"threshold",
		"metric":"count","filters":{"event_type":"burst"},"operator":">","value":%d,
		"group_by":["payload.group"]}}`, pairThreshold)
	response, err := http.Post(inst.apiURL+"/api/v1/rules", "application/json", strings.NewReader(body))
	require.NoError(inst.t, err)
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	require.NoError(inst.t, err)
	require.Equal(inst.t, http.StatusCreated, response.StatusCode, "body: %s", data)

	var rule struct {
		RuleID  uuid.UUID `json:"rule_id"`
		Version int       `json:"version"`
	}
	require.NoError(inst.t, json.Unmarshal(data, &rule))
	require.Equal(inst.t, 1, rule.Version)

	return rule.RuleID
}

// expectedPairAnomalies returns the anomalies, as outcome lists them, that
// batches batches make the pair rule fire.
func expectedPairAnomalies(batches int) []string {
	var want []string
	for pair := range batches / 2 {
		for group := range pairGroups {
			want = append(want, anomalyString(pairKey(pairGroup(pair, group)),
				pairBase.Add(time.Duration(pair)*time.Second), pairThreshold+1))
		}
	}
	slices.Sort(want)

	return want
}

func anomalyString(groupKey string, at time.Time, observed float64) string {
	return fmt.Sprintf("%s at %s: %g", groupKey, at.UTC().Format(time.RFC3339), observed)
}

// storedAnomalies returns the anomalies table as group key, time and
// count, sorted, or nil when it is empty.
func (inst *installation) storedAnomalies() []string {
	inst.t.Helper()

	rows, err := inst.pool.Query(context.Background(), `SELECT group_key, detected_at, observed FROM anomalies`)
	require.NoError(inst.t, err)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var key string
		var at time.Time
		var observed float64
		err := row.Scan(&key, &at, &observed)
		return anomalyString(key, at, observed), err
	})
	require.NoError(inst.t, err)

	if len(list) == 0 {
		return nil
	}
	slices.Sort(list)

	return list
}

// pairAnomalyIDs returns the ids of the anomalies that rule fires over the
// events in the order of the log. The event that brings a group's count
// above the threshold triggers one, and the cooldown holds off the rest of
// the group, because the group shares one timestamp.
func (inst *installation) pairAnomalyIDs(rule uuid.UUID) []uuid.UUID {
	inst.t.Helper()

	rows, err := inst.pool.Query(context.Background(), `SELECT payload FROM event_log
		WHERE metadata->>'name' = 'EventsIngested' ORDER BY transaction_id, "offset"`)
	require.NoError(inst.t, err)
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(inst.t, err)

	counts := map[string]int{}
	var ids []uuid.UUID
	for _, payload := range payloads {
		var record events.EventsIngested
		require.NoError(inst.t, json.Unmarshal(payload, &record))

		for _, e := range record.Events {
			if e.EventType != "burst" {
				continue
			}

			var fields struct {
				Group string `json:"group"`
			}
			require.NoError(inst.t, json.Unmarshal(e.Payload, &fields))
			key := pairKey(fields.Group)
			counts[key]++
			if counts[key] == pairThreshold+1 {
				ids = append(ids, detect.AnomalyID(rule, 1, key, e.EventID))
			}
		}
	}

	return sortIDs(ids)
}

// ids returns the uuid column of query, sorted.
func (inst *installation) ids(query string) []uuid.UUID {
	inst.t.Helper()

	rows, err := inst.pool.Query(context.Background(), query)
	require.NoError(inst.t, err)
	list, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(inst.t, err)

	return sortIDs(list)
}

func sortIDs(ids []uuid.UUID) []uuid.UUID {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })

	return ids
}

// waitForDetection waits until the detector and the anomalies projection
// have read the whole log.
func (inst *installation) waitForDetection(timeout time.Duration) {
	inst.t.Helper()

	waitFor(inst.t, timeout, "detector and anomalies projection to reach the end of the log", func() bool {
		return inst.count(`SELECT count(*) FROM event_log_offsets o
			WHERE consumer_group IN ('detector', 'projection.anomalies')
			AND (o.last_processed_transaction_id, o.offset_acked) >= (
				SELECT transaction_id, "offset" FROM event_log
				ORDER BY transaction_id DESC, "offset" DESC LIMIT 1)`) == 2
	})
}
