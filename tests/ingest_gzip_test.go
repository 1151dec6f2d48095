package tests

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/ingest"
	"github.com/eventpulse/eventpulse/internal/oas"
	"github.com/eventpulse/eventpulse/internal/testapp"
)

// postEncoded sends body as JSON to path with the Content-Encoding header
// set to encoding, and returns the status, headers and body.
func postEncoded(t *testing.T, a *testapp.App, path, encoding string, body []byte) (int, http.Header, []byte) {
	t.Helper()

	request, err := http.NewRequest(http.MethodPost, a.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Content-Encoding", encoding)

	response, err := http.DefaultClient.Do(request)
	require.NoError(t, err)
	defer response.Body.Close()

	var data bytes.Buffer
	_, err = data.ReadFrom(response.Body)
	require.NoError(t, err)

	return response.StatusCode, response.Header, data.Bytes()
}

func gzipped(t *testing.T, data string) []byte {
	t.Helper()

	var buf bytes.Buffer
	writer := gzip.NewWriter(&buf)
	_, err := writer.Write([]byte(data))
	require.NoError(t, err)
	require.NoError(t, writer.Close())

	return buf.Bytes()
}

func TestIngestGzipBody(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})

	status, _, body := postEncoded(t, a, "/api/v1/events", "gzip",
		gzipped(t, `{"event_type":"info","source":"gzip","payload":{"text":"héllo"}}`))
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	status, _, body = postEncoded(t, a, "/api/v1/events/batch", "gzip",
		gzipped(t, `[{"event_type":"info","source":"gzip-batch"},{"event_type":"warn","source":"gzip-batch"}]`))
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)
	require.Contains(t, string(body), `"count":2`)

	// Two gzip members one after the other decompress to their
	// concatenation.
	members := append(gzipped(t, `{"event_type":"info",`), gzipped(t, `"source":"gzip-members"}`)...)
	status, _, body = postEncoded(t, a, "/api/v1/events", "gzip", members)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	for _, encoding := range []string{"x-gzip", "GZIP", "identity, gzip"} {
		status, _, body = postEncoded(t, a, "/api/v1/events", encoding,
			gzipped(t, `{"event_type":"info","source":"gzip-alias"}`))
		require.Equal(t, http.StatusAccepted, status, "%s: body: %s", encoding, body)
	}

	status, _, body = postEncoded(t, a, "/api/v1/events", "identity", []byte(`{"event_type":"info","source":"identity"}`))
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	waitForEvents(t, a, 8)
	list, err := a.Client.ListEvents(background(), oas.ListEventsParams{Source: oas.NewOptString("gzip")})
	require.NoError(t, err)
	require.Len(t, list.Data, 1)
	require.JSONEq(t, `{"text":"héllo"}`, string(list.Data[0].Payload))
	require.Equal(t, 2, a.Count("SELECT count(*) FROM events WHERE source = 'gzip-batch'"))
	require.Equal(t, 1, a.Count("SELECT count(*) FROM events WHERE source = 'gzip-members'"))
	require.Equal(t, 3, a.Count("SELECT count(*) FROM events WHERE source = 'gzip-alias'"))
}

// paddedEvent returns an event of exactly size bytes of JSON.
func paddedEvent(t *testing.T, size int) string {
	t.Helper()

	const prefix, suffix = `{"event_type":"info","source":"limit","payload":{"pad":"`, `"}}`
	event := prefix + strings.Repeat("a", size-len(prefix)-len(suffix)) + suffix
	require.Len(t, event, size)

	return event
}

func TestIngestGzipLimitDecompressedSize(t *testing.T) {
	t.Parallel()

	const maxBodyBytes = 4096
	a := testapp.Start(t, testapp.Options{Config: func(c *config.Config) { c.MaxBodyBytes = maxBodyBytes }})

	atLimit := gzipped(t, paddedEvent(t, maxBodyBytes))
	status, _, body := postEncoded(t, a, "/api/v1/events", "gzip", atLimit)
	require.Equal(t, http.StatusAccepted, status, "body: %s", body)

	overLimit := gzipped(t, paddedEvent(t, maxBodyBytes+1))
	require.Less(t, len(overLimit), 200, "the compressed body is far below the limit")
	status, _, body = postEncoded(t, a, "/api/v1/events", "gzip", overLimit)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "body: %s", body)
	require.Contains(t, string(body), fmt.Sprintf("larger than %d bytes once decompressed", maxBodyBytes))

	// A body that would expand to 256 times the limit is cut off at the
	// limit.
	bomb := gzipped(t, "["+strings.Repeat(" ", 256*maxBodyBytes)+"]")
	require.Less(t, len(bomb), maxBodyBytes, "the compressed body is within the limit")
	status, _, body = postEncoded(t, a, "/api/v1/events/batch", "gzip", bomb)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "body: %s", body)
	require.Contains(t, string(body), "once decompressed")

	// The limit applies to the compressed body too.
	status, _, body = postEncoded(t, a, "/api/v1/events", "gzip", bytes.Repeat([]byte{0}, maxBodyBytes+1))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "body: %s", body)
	require.NotContains(t, string(body), "once decompressed")

	status, _, body = postJSON(t, a, "/api/v1/events", paddedEvent(t, maxBodyBytes+1))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "a plain body over the limit: %s", body)

	waitForEvents(t, a, 1)
	require.Equal(t, 1, a.Count("SELECT count(*) FROM event_claims"), "only the event at the limit was accepted")
}

func TestIngestGzipCorruptBody(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	valid := gzipped(t, `{"event_type":"info","source":"corrupt"}`)
	flipped := bytes.Clone(valid)
	flipped[len(flipped)-5] ^= 0xff // a byte of the CRC-32 trailer

	cases := []struct {
		name    string
		body    []byte
		message string
	}{
		{"not gzip", []byte(`{"event_type":"info","source":"corrupt"}`), "invalid header"},
		{"empty", nil, "the body is empty"},
		{"truncated", valid[:len(valid)-10], "truncated"},
		{"wrong checksum", flipped, "checksum"},
		{"trailing garbage", append(bytes.Clone(valid), "garbage after the stream"...), "invalid header"},
	}

	for _, tc := range cases {
		for _, path := range []string{"/api/v1/events", "/api/v1/events/batch"} {
			status, _, body := postEncoded(t, a, path, "gzip", tc.body)
			require.Equal(t, http.StatusBadRequest, status, "%s %s: body %s", tc.name, path, body)

			var response oas.ValidationError
			require.NoError(t, response.UnmarshalJSON(body), "%s: body %s", tc.name, body)
			require.Len(t, response.Issues, 1, tc.name)
			require.Equal(t, ingest.CodeInvalidEncoding, response.Issues[0].Code, tc.name)
			require.Contains(t, response.Issues[0].Message, "not a valid gzip stream", tc.name)
			require.Contains(t, response.Issues[0].Message, tc.message, tc.name)
		}
	}

	require.Equal(t, 0, a.Count("SELECT count(*) FROM event_claims"))
}

func TestIngestUnsupportedEncoding(t *testing.T) {
	t.Parallel()

	a := testapp.Start(t, testapp.Options{})
	event := []byte(`{"event_type":"info","source":"encoding"}`)

	for _, encoding := range []string{"br", "deflate", "gzip, gzip", "gzip, br"} {
		for _, path := range []string{"/api/v1/events", "/api/v1/events/batch"} {
			status, header, body := postEncoded(t, a, path, encoding, event)
			require.Equal(t, http.StatusUnsupportedMediaType, status, "%s %s: body %s", encoding, path, body)
			require.Equal(t, "gzip, identity", header.Get("Accept-Encoding"), encoding)

			var response oas.Error
			require.NoError(t, response.UnmarshalJSON(body), "%s: body %s", encoding, body)
			require.Equal(t, fmt.Sprintf("Content-Encoding must be gzip or identity, got %q", encoding), response.Error)
		}
	}

	require.Equal(t, 0, a.Count("SELECT count(*) FROM event_claims"))
}
