package commands

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

// TestBodyHashesStoredForm pins the hashed form: the hashes of events
// claimed earlier are in event_claims, so a retry is only recognised if
// the same body still hashes to the same bytes.
func TestBodyHashesStoredForm(t *testing.T) {
	t.Parallel()

	batch := []events.IngestedEvent{
		{EventType: "a<b>&c", Source: "ünï/\u2028", Payload: json.RawMessage(`{ "k" : [1, 2] }`), Metadata: json.RawMessage(`{}`)},
		{EventType: "t", Source: "s", Payload: json.RawMessage(`{"html":"<x>"}`), Metadata: json.RawMessage(`{"m":1}`)},
		{EventType: "t", Source: "s", Payload: json.RawMessage(`{"html":"<x>"}`), Metadata: json.RawMessage(`{"m":1}`)},
		{EventType: "http.request", Source: "web/1", Payload: json.RawMessage(`{"a":[1,2.5e3,"x",null,true],"b":{"c":"d"}}`), Metadata: json.RawMessage(`{}`)},
		{EventType: "quote\"d", Source: `back\slash`, Payload: json.RawMessage(`{"k":"v"}`), Metadata: json.RawMessage(`{}`)},
		{EventType: "tab\tin", Source: "del\x7f", Payload: json.RawMessage(`{"k":"tab\tinside"}`), Metadata: json.RawMessage(`{"s":"a b"}`)},
		{EventType: "e", Source: "s", Payload: json.RawMessage(`{"k":"\u003c"}`), Metadata: json.RawMessage(`{"uni":"é"}`)},
		{EventType: "e", Source: "s", Payload: json.RawMessage("{\n\"k\":1\n}"), Metadata: nil},
		{EventType: "e", Source: "s", Payload: json.RawMessage(`{"msg":"spaces inside, \"quoted\" and \\ slash","n":1}`), Metadata: json.RawMessage(`{"a":"x y"}`)},
		{EventType: "e", Source: "s", Payload: json.RawMessage(`{"msg":"a \"<b>\" c"}`), Metadata: json.RawMessage(`{"a":"x"} `)},
		{EventType: "e", Source: "s", Payload: json.RawMessage(`{"esc":"\u00e9\/\n","k": 1}`), Metadata: json.RawMessage(`{}`)},
	}

	hashes := bodyHashes(batch)
	require.Len(t, hashes, len(batch))

	for i, event := range batch {
		sum := sha256.New()
		require.NoError(t, json.NewEncoder(sum).Encode([]any{event.EventType, event.Source, event.Payload, event.Metadata}))
		require.Equal(t, sum.Sum(nil), hashes[i], "event %d", i)
	}

	_, fast := appendHashInput(nil, &batch[3])
	require.True(t, fast, "a plain event takes the direct path")

	_, fast = appendHashInput(nil, &batch[8])
	require.True(t, fast, "spaces inside strings take the direct path")

	_, fast = appendHashInput(nil, &batch[10])
	require.False(t, fast, "a space between tokens needs the encoder")

	require.Equal(t, hashes[1], hashes[2])
	require.NotEqual(t, hashes[0], hashes[1])
}
