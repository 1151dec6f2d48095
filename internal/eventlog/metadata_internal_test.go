package eventlog

import (
	"encoding/json"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/require"
)

func TestDecodeMetadataMatchesEncodingJSON(t *testing.T) {
	t.Parallel()

	inputs := []string{
		`{"name":"EventsIngested","correlation_id":"c-1","recorded_at":"2026-12-05T08:00:00.000001Z"}`,
		`{"note":"caf\u00e9 \"quoted\" \\ tab\t","empty":""}`,
		` { "spaced" : "yes" } `,
		`{}`,
	}
	for _, input := range inputs {
		decoded := message.Metadata{}
		require.NoError(t, decodeMetadata([]byte(input), decoded), input)

		expected := message.Metadata{}
		require.NoError(t, json.Unmarshal([]byte(input), &expected), input)
		require.Equal(t, expected, decoded, input)
	}
}

func TestDecodeMetadataEmptyAddsNothing(t *testing.T) {
	t.Parallel()

	for _, input := range []string{"", "null"} {
		decoded := message.Metadata{"kept": "1"}
		require.NoError(t, decodeMetadata([]byte(input), decoded), input)
		require.Equal(t, message.Metadata{"kept": "1"}, decoded, input)
	}
}

func TestDecodeMetadataRejectsOtherShapes(t *testing.T) {
	t.Parallel()

	cases := map[string]string{
		"number value":  `{"a":1}`,
		"array":         `["a"]`,
		"trailing data": `{"a":"b"} {}`,
		"unclosed":      `{"a":"b"`,
		"nested object": `{"a":{"b":"c"}}`,
	}
	for name, input := range cases {
		err := decodeMetadata([]byte(input), message.Metadata{})
		require.Error(t, err, name)
	}
}
