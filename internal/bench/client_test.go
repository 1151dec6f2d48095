package bench

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testServer is an httptest server on 127.0.0.1 that counts the
// connections it accepted and the requests it responded to.
type testServer struct {
	*httptest.Server
	conns     atomic.Int64
	responded atomic.Int64
}

func startTestServer(t *testing.T, handler http.HandlerFunc) *testServer {
	t.Helper()

	s := &testServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		handler(w, r)
		s.responded.Add(1)
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)

	return s
}

func accept(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"accepted"}`))
}

func eventRequest(int, int) Request {
	return Request{Path: "/api/v1/events", Body: []byte(`{"event_type":"t","source":"s"}`), Events: 3}
}

func sendOnce(t *testing.T, conn *loadConn, body string) outcome {
	t.Helper()

	return conn.send(t.Context(), Request{Path: "/api/v1/events", Body: []byte(body), Events: 1})
}

func newTestConn(t *testing.T, baseURL string) *loadConn {
	t.Helper()

	target, err := parseTarget(baseURL)
	require.NoError(t, err)

	conn := newLoadConn(t.Context(), target)
	t.Cleanup(conn.close)

	return conn
}

func TestRunClosedCountsAccepted(t *testing.T) {
	t.Parallel()

	var contentType, body atomic.Value
	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		contentType.Store(r.Header.Get("Content-Type"))
		body.Store(r.ContentLength)
		accept(w, r)
	})

	res := RunClosed(t.Context(), server.URL, 2, 300*time.Millisecond, eventRequest)

	require.Empty(t, res.FirstError)
	require.Zero(t, res.Errors)
	require.Positive(t, res.Requests)
	require.Equal(t, 3*res.Requests, res.Events)
	require.Len(t, res.Latencies, res.Requests)
	require.Equal(t, int64(2), server.conns.Load(), "each worker keeps one connection alive")
	// A request cut short by the end of the run reached the server but is
	// not counted, at most one for each worker.
	require.GreaterOrEqual(t, server.responded.Load(), int64(res.Requests))
	require.LessOrEqual(t, server.responded.Load(), int64(res.Requests+2))
	require.Equal(t, "application/json", contentType.Load())
	require.Equal(t, int64(len(`{"event_type":"t","source":"s"}`)), body.Load())
}

func TestLoadConnStatusError(t *testing.T) {
	t.Parallel()

	message := "invalid event: source is missing; " + strings.Repeat("x", 300) + "END"
	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			accept(w, r)
			return
		}
		http.Error(w, message, http.StatusBadRequest)
	})
	conn := newTestConn(t, server.URL)

	failed := sendOnce(t, conn, `{}`)
	require.Error(t, failed.err)
	require.Contains(t, failed.err.Error(), "POST /api/v1/events returned status 400")
	require.Contains(t, failed.err.Error(), "invalid event: source is missing")
	require.NotContains(t, failed.err.Error(), "END", "the body is cut to its first bytes")

	ok := conn.send(t.Context(), Request{Path: "/ok", Body: []byte(`{}`), Events: 1})
	require.NoError(t, ok.err)
	require.Equal(t, 1, ok.events)
	require.Equal(t, int64(1), server.conns.Load(), "the connection stays usable after a 400")
}

func TestRunClosedStatusError(t *testing.T) {
	t.Parallel()

	server := startTestServer(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "invalid event: source is missing", http.StatusBadRequest)
	})

	res := RunClosed(t.Context(), server.URL, 1, 200*time.Millisecond, eventRequest)

	require.Positive(t, res.Requests)
	require.Equal(t, res.Requests, res.Errors)
	require.Zero(t, res.Events)
	require.Empty(t, res.Latencies)
	require.Contains(t, res.FirstError, "status 400")
	require.Contains(t, res.FirstError, "invalid event: source is missing")
}

func TestLoadConnChunked(t *testing.T) {
	t.Parallel()

	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		status := http.StatusAccepted
		if strings.HasSuffix(r.URL.Path, "/fail") {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)

		for _, part := range []string{"first part|", strings.Repeat("m", 40), "|last part"} {
			_, _ = w.Write([]byte(part))
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Checksum", "abc")
	})
	conn := newTestConn(t, server.URL)

	for range 3 {
		ok := sendOnce(t, conn, `{}`)
		require.NoError(t, ok.err)
	}

	failed := conn.send(t.Context(), Request{Path: "/fail", Body: []byte(`{}`)})
	require.Error(t, failed.err)
	require.Contains(t, failed.err.Error(), "first part|"+strings.Repeat("m", 40)+"|last part")

	ok := sendOnce(t, conn, `{}`)
	require.NoError(t, ok.err)
	require.Equal(t, int64(1), server.conns.Load(), "chunked bodies keep the connection in step")
}

func TestRunClosedConnectionClose(t *testing.T) {
	t.Parallel()

	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		accept(w, r)
	})

	res := RunClosed(t.Context(), server.URL, 2, 300*time.Millisecond, eventRequest)

	require.Empty(t, res.FirstError)
	require.Zero(t, res.Errors)
	require.Greater(t, res.Requests, 2)
	require.Equal(t, 3*res.Requests, res.Events)
	require.GreaterOrEqual(t, server.conns.Load(), int64(res.Requests), "every request dials a new connection")
}

func TestLoadConnRedialsAfterBrokenConnection(t *testing.T) {
	t.Parallel()

	var requests atomic.Int64
	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1)%2 == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}

			return
		}
		accept(w, r)
	})
	conn := newTestConn(t, server.URL)

	for i := range 6 {
		o := sendOnce(t, conn, `{}`)
		require.False(t, o.aborted, "request %d", i)
		if i%2 == 0 {
			require.NoError(t, o.err, "request %d", i)
		} else {
			require.ErrorContains(t, o.err, "closed the connection", "request %d", i)
		}
	}

	require.Equal(t, int64(3), server.conns.Load(), "each broken connection is dialed again")
}

func TestRunClosedHangingServer(t *testing.T) {
	t.Parallel()

	release := make(chan struct{})
	var requests atomic.Int64
	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > 3 {
			<-release
		}
		accept(w, r)
	})
	// Cleanups run last first, so the handler is released before the
	// server waits for it to return.
	t.Cleanup(func() { close(release) })

	res := RunClosed(t.Context(), server.URL, 1, 500*time.Millisecond, eventRequest)

	require.Equal(t, 3, res.Requests, "the hanging request is neither a success nor an error")
	require.Zero(t, res.Errors)
	require.Equal(t, 9, res.Events)
	require.Less(t, res.Elapsed, requestTimeout/3, "the run ends at its deadline, not at the request timeout")
}

func TestRunOpenPoolsConnections(t *testing.T) {
	t.Parallel()

	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		accept(w, r)
	})

	res := RunOpen(t.Context(), server.URL, 400, 4, 500*time.Millisecond, func(i int) Request {
		return eventRequest(0, i)
	})

	require.Positive(t, res.Requests)
	// A request rejected for lack of a slot never reaches the server and
	// every other one finishes before RunOpen returns.
	require.Equal(t, server.responded.Load(), int64(res.Requests-res.Errors))
	require.Equal(t, 3*(res.Requests-res.Errors), res.Events)
	require.LessOrEqual(t, server.conns.Load(), int64(4))
	require.Positive(t, server.conns.Load())
}

func TestRunClosedInvalidURL(t *testing.T) {
	t.Parallel()

	res := RunClosed(t.Context(), "https://127.0.0.1:1", 4, time.Second, eventRequest)

	require.Equal(t, 1, res.Requests)
	require.Equal(t, 1, res.Errors)
	require.Contains(t, res.FirstError, `invalid base URL "https://127.0.0.1:1"`)
}

// rawServer responds to every request on 127.0.0.1 with the bytes of reply
// and then closes the connection when closeAfter is set.
func rawServer(t *testing.T, reply string, closeAfter bool) string {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = listener.Close() })

	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}

			go serveRaw(conn, reply, closeAfter)
		}
	}()

	return "http://" + listener.Addr().String()
}

func serveRaw(conn net.Conn, reply string, closeAfter bool) {
	defer conn.Close()

	reader := bufio.NewReader(conn)
	for {
		request, err := http.ReadRequest(reader)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, request.Body)

		if _, err := conn.Write([]byte(reply)); err != nil || closeAfter {
			return
		}
	}
}

func TestLoadConnRawResponses(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name       string
		reply      string
		closeAfter bool
		// wantErr is part of the error, empty for a success.
		wantErr string
	}{
		{"lower-case header names", "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}", false, ""},
		{"upper-case chunked", "HTTP/1.1 202 Accepted\r\nTRANSFER-ENCODING: Chunked\r\n\r\n2;ext=1\r\n{}\r\n0\r\n\r\n", false, ""},
		{"interim 100 Continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", false, ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 202 Accepted\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", false, ""},
		{"body until close", "HTTP/1.1 400 Bad Request\r\n\r\nno length here", true, "status 400: no length here"},
		{"chunked error body", "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false,
			"status 400: hello world"},
		{"invalid status line", "HTTP/2 202 Accepted\r\n\r\n", true, `invalid status line "HTTP/2 202 Accepted"`},
		{"invalid chunk size", "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true, `invalid chunk size "zz"`},
		{"conflicting lengths", "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", true, `invalid Content-Length "3"`},
		{"short body", "HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\n{}", true, "unexpected EOF"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			conn := newTestConn(t, rawServer(t, tc.reply, tc.closeAfter))

			// Two requests, so a response read past its end or short of it
			// breaks the second one.
			for i := range 2 {
				o := sendOnce(t, conn, `{}`)
				if tc.wantErr == "" {
					require.NoError(t, o.err, "request %d", i)
					require.Equal(t, 1, o.events, "request %d", i)
				} else {
					require.ErrorContains(t, o.err, tc.wantErr, "request %d", i)
				}
			}
		})
	}
}

func TestLoadConnAbortsWhenContextEnds(t *testing.T) {
	t.Parallel()

	release := make(chan struct{})
	server := startTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		accept(w, r)
	})
	t.Cleanup(func() { close(release) })

	target, err := parseTarget(server.URL)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	conn := newLoadConn(ctx, target)
	defer conn.close()

	start := time.Now()
	o := conn.send(ctx, Request{Path: "/api/v1/events", Body: []byte(`{}`), Events: 1})
	require.Less(t, time.Since(start), requestTimeout/3, "the request ends with ctx, not at the request timeout")
	require.True(t, o.aborted)
	require.NoError(t, o.err)

	again := conn.send(ctx, Request{Path: "/api/v1/events", Body: []byte(`{}`), Events: 1})
	require.True(t, again.aborted)
	require.Equal(t, int64(1), server.conns.Load())
}
