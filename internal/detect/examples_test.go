package detect

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

func TestExampleRulesFire(t *testing.T) {
	t.Parallel()

	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "rules", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 3)

	engine := NewEngine(Config{})
	names := map[uuid.UUID]string{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)

		// The files are API request bodies, where enabled defaults to true.
		spec := events.RuleSpec{Enabled: true}
		decoder := json.NewDecoder(bytes.NewReader(data))
		decoder.DisallowUnknownFields()
		require.NoError(t, decoder.Decode(&spec), file)

		id := uuid.New()
		names[id] = filepath.Base(file)
		engine.SetRule(id, 1, spec)
	}

	fired := map[string]int{}
	for i := range 601 {
		e := event(float64(i)/10, "error", "web", `{"message":"boom"}`)
		if i == 600 {
			e.Payload = json.RawMessage(`{"code":500}`)
			e.ReceivedAt = e.Timestamp.Add(time.Hour)
		}
		for _, anomaly := range engine.Observe(e) {
			fired[names[anomaly.RuleID]]++
		}
	}

	require.Equal(t, map[string]int{"source-rate-spike.json": 1, "invalid-payload.json": 1, "clock-drift.json": 1}, fired)
}
