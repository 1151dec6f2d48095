package handlers

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestTimestampParamsMatchSpec keeps timestampParams equal to the names of
// the date-time query parameters in openapi.yaml, so a new one also
// accepts lowercase letters and no other parameter is rewritten.
func TestTimestampParamsMatchSpec(t *testing.T) {
	t.Parallel()

	data, err := os.ReadFile("../openapi.yaml")
	require.NoError(t, err)

	var spec map[string]any
	require.NoError(t, yaml.Unmarshal(data, &spec))

	var dateTimes, others []string
	collectQueryParams(spec["paths"], &dateTimes, &others)
	require.NotEmpty(t, dateTimes)

	slices.Sort(dateTimes)
	dateTimes = slices.Compact(dateTimes)
	require.ElementsMatch(t, timestampParams, dateTimes, "date-time query parameters in openapi.yaml")

	for _, name := range timestampParams {
		require.NotContains(t, others, name, "query parameter %q is not a date-time everywhere", name)
	}
}

// collectQueryParams adds the name of every query parameter under node to
// dateTimes or others, by the format of its schema.
func collectQueryParams(node any, dateTimes, others *[]string) {
	switch v := node.(type) {
	case []any:
		for _, item := range v {
			collectQueryParams(item, dateTimes, others)
		}
	case map[string]any:
		if v["in"] == "query" {
			name, _ := v["name"].(string)
			schema, _ := v["schema"].(map[string]any)
			if schema["format"] == "date-time" {
				*dateTimes = append(*dateTimes, name)
			} else {
				*others = append(*others, name)
			}

			return
		}

		for _, child := range v {
			collectQueryParams(child, dateTimes, others)
		}
	}
}
