package commands

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/events"
)

// TestClaimHashesStoredForm pins the hashed form: the hashes of events
// claimed earlier are in event_claims, so a retry is only recognised if
// the same body still hashes to the same bytes.
func TestClaimHashesStoredForm(t *testing.T) {
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

	claims := claimsOf(batch)
	require.Len(t, claims, len(batch))

	for i, event := range batch {
		sum := sha256.New()
		require.NoError(t, json.NewEncoder(sum).Encode([]any{event.EventType, event.Source, event.Payload, event.Metadata}))
		require.Equal(t, sum.Sum(nil), claims[i].BodyHash[:], "event %d", i)
		require.Equal(t, event.EventID, claims[i].EventID, "event %d", i)
	}

	_, fast := appendHashInput(nil, &batch[3])
	require.True(t, fast, "a plain event takes the direct path")

	_, fast = appendHashInput(nil, &batch[8])
	require.True(t, fast, "spaces inside strings take the direct path")

	_, fast = appendHashInput(nil, &batch[10])
	require.True(t, fast, "spaces between tokens are dropped on the direct path")

	_, fast = appendHashInput(nil, &batch[4])
	require.False(t, fast, "a quote in a name needs the encoder")

	require.Equal(t, claims[1].BodyHash, claims[2].BodyHash)
	require.NotEqual(t, claims[0].BodyHash, claims[1].BodyHash)
}

// TestCompactJSONMatchesEncoder compares appendCompactJSON with
// json.Encoder on values mixing whitespace, HTML characters, escapes,
// U+2028 and other non-ASCII text, inside and outside strings.
func TestCompactJSONMatchesEncoder(t *testing.T) {
	t.Parallel()

	parts := []string{` `, `<`, `>`, `&`, `\"`, `\\`, `\u003c`, `\n`, "\u2028", "\u2029", `é`, `✓`, `\u2028`, `a`, `:`, `,`}
	random := rand.New(rand.NewPCG(3, 4))
	text := func() string {
		var b strings.Builder
		for range random.IntN(6) {
			b.WriteString(parts[random.IntN(len(parts))])
		}

		return b.String()
	}
	space := func() string { return []string{"", " ", "\n\t", "\r\n "}[random.IntN(4)] }

	for range 5000 {
		raw := space() + "{" + space() + `"` + text() + `"` + space() + ":" + space() +
			`[` + space() + `"` + text() + `"` + space() + "," + space() + `1.5e3` + space() + "," + space() + `true` + space() + `]` +
			space() + "," + space() + `"` + text() + `"` + space() + ":" + space() + `{}` + space() + "}" + space()
		require.True(t, json.Valid([]byte(raw)), raw)

		var want bytes.Buffer
		require.NoError(t, json.NewEncoder(&want).Encode(json.RawMessage(raw)))

		got, ok := appendCompactJSON(nil, json.RawMessage(raw))
		require.True(t, ok)
		require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got), "raw %q", raw)
	}
}
