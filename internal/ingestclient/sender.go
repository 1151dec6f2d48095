package ingestclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// batchPath is the batch endpoint, relative to Options.URL.
	batchPath = "/api/v1/events/batch"

	// responseSizeMax is the most of a response body that is read. Error
	// bodies with validation issues for 1,000 items fit well within it.
	responseSizeMax = 4 << 20

	// responseHeaderTimeout bounds the wait for the response headers after the
	// request body is written.
	responseHeaderTimeout = time.Minute
)

// sender posts batches to the API and retries transient failures.
type sender struct {
	client   *http.Client
	endpoint string
	apiKey   string
	retry    retryPolicy
	notify   func(message string)
}

// reply is a response that is not retried.
type reply struct {
	status int
	body   []byte
}

// newHTTPClient returns a client that keeps one idle connection per
// concurrent request, so connections are reused between batches.
func newHTTPClient(concurrency int) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = max(transport.MaxIdleConns, concurrency)
	transport.MaxIdleConnsPerHost = concurrency
	transport.ResponseHeaderTimeout = responseHeaderTimeout

	return &http.Client{Transport: transport}
}

// post sends events as one request. It retries 429, 502, 503 and 504
// responses and network errors up to retry.attempts times, and returns any
// other response.
//
// NOTE: a retry after a network error may store events twice when the first
// request reached the server. The server deduplicates only events whose line
// has an event_id.
func (s *sender) post(ctx context.Context, events []event) (reply, error) {
	body := encodeBatch(events)

	for attempt := 0; ; attempt++ {
		result, retryAfter, err := s.postOnce(ctx, body)
		if ctx.Err() != nil {
			return reply{}, ctx.Err()
		}

		if err == nil && !retryableStatus(result.status) {
			return result, nil
		}

		failure := err
		if failure == nil {
			failure = fmt.Errorf("server returned %s: %s", statusText(result.status), parseAPIError(result.body).Error)
		}

		if attempt == s.retry.attempts {
			attempts := strconv.Itoa(attempt+1) + " attempts"
			if attempt == 0 {
				attempts = "1 attempt"
			}

			if len(events) == 1 {
				return reply{}, fmt.Errorf("error sending the event of %s:%d to %q after %s, so it was not sent: %w",
					events[0].file, events[0].line, s.endpoint, attempts, failure)
			}

			// A batch holds lines of one file, so its events lie in one
			// line range of that file.
			first, last := events[0], events[len(events)-1]

			return reply{}, fmt.Errorf("error sending the %d events of lines %d to %d of %s to %q after %s, so they were not sent: %w",
				len(events), first.line, last.line, first.file, s.endpoint, attempts, failure)
		}

		delay := s.retryDelay(attempt, retryAfter)
		s.notify(fmt.Sprintf("ingest: %v; retry %d of %d in %s", failure, attempt+1, s.retry.attempts, delay))

		if err := sleep(ctx, delay); err != nil {
			return reply{}, err
		}
	}
}

// postOnce sends one request and returns the response and its Retry-After
// delay, which is zero when the header is missing or invalid.
func (s *sender) postOnce(ctx context.Context, body []byte) (reply, time.Duration, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return reply{}, 0, fmt.Errorf("error creating request for %q: %w", s.endpoint, err)
	}

	request.Header.Set("Content-Type", "application/json")
	if s.apiKey != "" {
		request.Header.Set("Authorization", "Bearer "+s.apiKey)
	}

	response, err := s.client.Do(request)
	if err != nil {
		return reply{}, 0, err
	}
	defer response.Body.Close()

	content, err := io.ReadAll(io.LimitReader(response.Body, responseSizeMax))
	if err != nil {
		return reply{}, 0, fmt.Errorf("error reading response from %q: %w", s.endpoint, err)
	}

	// Draining the rest lets the transport reuse the connection.
	_, _ = io.Copy(io.Discard, response.Body)

	retryAfter := parseRetryAfter(response.Header.Get("Retry-After"), time.Now())

	return reply{status: response.StatusCode, body: content}, retryAfter, nil
}

// retryDelay returns the server's Retry-After delay, capped at
// retry.retryAfterMax, or else an exponential backoff capped at
// retry.backoffMax.
func (s *sender) retryDelay(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, s.retry.retryAfterMax)
	}

	delay := s.retry.backoffInitial
	for range attempt {
		if delay >= s.retry.backoffMax {
			break
		}

		delay *= 2
	}

	return min(delay, s.retry.backoffMax)
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	default:
		return false
	}
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}

	if seconds, err := strconv.Atoi(value); err == nil {
		return max(time.Duration(seconds)*time.Second, 0)
	}

	if date, err := http.ParseTime(value); err == nil {
		return max(date.Sub(now), 0)
	}

	return 0
}

// encodeBatch returns the JSON array of the events' raw lines.
func encodeBatch(events []event) []byte {
	size := 2
	for _, e := range events {
		size += len(e.raw) + 1
	}

	body := make([]byte, 0, size)
	body = append(body, '[')
	for i, e := range events {
		if i > 0 {
			body = append(body, ',')
		}

		body = append(body, e.raw...)
	}

	return append(body, ']')
}

func statusText(status int) string {
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// sleep waits for delay or until ctx is done.
func sleep(ctx context.Context, delay time.Duration) error {
	timer := time.NewTimer(delay)
	defer timer.Stop()

	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
