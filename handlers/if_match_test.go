package handlers

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseIfMatchLists(t *testing.T) {
	t.Parallel()

	cases := []struct {
		header   string
		versions []int
		status   int
	}{
		{header: `*`},
		{header: ``},
		{header: `"3"`, versions: []int{3}},
		{header: `3`, versions: []int{3}},
		{header: ` "3" `, versions: []int{3}},
		{header: `"3", "4"`, versions: []int{3, 4}},
		{header: `"3",,"4",`, versions: []int{3, 4}},
		{header: `W/"3", "5"`, versions: []int{5}},
		{header: `"abc", "2"`, versions: []int{2}},
		{header: `W/"3"`, status: http.StatusPreconditionFailed},
		{header: `"abc"`, status: http.StatusPreconditionFailed},
		{header: `"0"`, status: http.StatusPreconditionFailed},
		{header: `W/"1", "x"`, status: http.StatusPreconditionFailed},
		{header: `"3`, status: http.StatusBadRequest},
		{header: `abc`, status: http.StatusBadRequest},
		{header: `*, "3"`, status: http.StatusBadRequest},
		{header: `"a"b"`, status: http.StatusBadRequest},
		{header: `,`, status: http.StatusBadRequest},
	}

	for _, c := range cases {
		versions, err := parseIfMatch(c.header, true)
		if c.status == 0 {
			require.NoError(t, err, c.header)
			require.Equal(t, c.versions, versions, c.header)

			continue
		}

		var httpErr *HTTPError
		require.True(t, errors.As(err, &httpErr), "%s: %v", c.header, err)
		require.Equal(t, c.status, httpErr.Status, c.header)
	}

	versions, err := parseIfMatch(`"3"`, false)
	require.NoError(t, err)
	require.Nil(t, versions, "an absent header accepts any version")
}
