package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// requestTimeout bounds one load request from the dial to the last byte of
// the response.
const requestTimeout = 30 * time.Second

// target is the server a load run sends to, from its base URL.
type target struct {
	// addr is the host:port to dial.
	addr string
	// host is the Host header.
	host string
	// pathPrefix is the path of the base URL, put before each request path.
	pathPrefix string
}

func parseTarget(baseURL string) (target, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return target{}, fmt.Errorf("invalid base URL %q: %w", baseURL, err)
	}

	if u.Scheme != "http" || u.Host == "" {
		return target{}, fmt.Errorf("invalid base URL %q: the load generator needs http://host[:port]", baseURL)
	}

	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}

	return target{addr: addr, host: u.Host, pathPrefix: u.EscapedPath()}, nil
}

// loadConn sends POST requests over one keep-alive HTTP/1.1 connection. It
// writes each request with one write from a reused buffer and parses the
// response itself, so a request costs the load generator a few small reads
// and writes rather than net/http's client machinery. The connection is
// dialed on the first request, and again after the server closes it or a
// request fails. One goroutine at a time may call send.
type loadConn struct {
	target target
	// mu guards netConn, which abort reads from another goroutine. Only the
	// goroutine that calls send assigns it.
	mu      sync.Mutex
	netConn net.Conn
	reader  *bufio.Reader
	// request is the buffer each request is written from.
	request []byte
	// body is the start of the last response body, for error messages.
	body []byte
	// stopAbort unregisters abort from the context given to newLoadConn.
	stopAbort func() bool
}

// newLoadConn returns a loadConn for t whose pending request fails at once
// when ctx ends.
func newLoadConn(ctx context.Context, t target) *loadConn {
	c := &loadConn{target: t, body: make([]byte, 0, bodyPrefix)}
	c.stopAbort = context.AfterFunc(ctx, c.abort)

	return c
}

// send posts request and returns its outcome. A request cut short because
// ctx ended is aborted, neither a success nor an error.
func (c *loadConn) send(ctx context.Context, request Request) outcome {
	if ctx.Err() != nil {
		return outcome{aborted: true}
	}

	start := time.Now()
	status, err := c.roundTrip(ctx, request, start.Add(requestTimeout))
	latency := time.Since(start)

	switch {
	case err != nil && ended(ctx):
		c.disconnect()
		return outcome{aborted: true}
	case err != nil:
		c.disconnect()
		return outcome{err: fmt.Errorf("error sending POST %s: %w", request.Path, err)}
	case status != http.StatusAccepted:
		return outcome{err: fmt.Errorf("POST %s returned status %d: %s", request.Path, status, c.body)}
	}

	return outcome{events: request.Events, latency: latency}
}

// ended reports whether ctx is done or past its deadline. DialContext
// enforces the deadline of ctx with a timer of its own, which can fire
// before the one that sets ctx.Err.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}

	deadline, ok := ctx.Deadline()

	return ok && !time.Now().Before(deadline)
}

func (c *loadConn) roundTrip(ctx context.Context, request Request, deadline time.Time) (int, error) {
	if c.netConn == nil {
		if err := c.dial(ctx, deadline); err != nil {
			return 0, err
		}
	}

	if err := c.netConn.SetDeadline(deadline); err != nil {
		return 0, err
	}

	// When ctx ended between the caller's check and SetDeadline, the
	// deadline set above replaced the one abort set. ctx.Err is set before
	// abort runs, so this check catches that case.
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	c.request = appendRequest(c.request[:0], c.target, request)
	if _, err := c.netConn.Write(c.request); err != nil {
		return 0, fmt.Errorf("error writing the request: %w", err)
	}

	response, err := readResponse(c.reader, c.body[:0])
	c.body = response.body
	if err != nil {
		return 0, err
	}

	if response.close {
		c.disconnect()
	}

	return response.status, nil
}

func (c *loadConn) dial(ctx context.Context, deadline time.Time) error {
	dialer := net.Dialer{Deadline: deadline}
	netConn, err := dialer.DialContext(ctx, "tcp", c.target.addr)
	if err != nil {
		return fmt.Errorf("error connecting to %s: %w", c.target.addr, err)
	}

	c.mu.Lock()
	c.netConn = netConn
	c.mu.Unlock()

	if c.reader == nil {
		c.reader = bufio.NewReader(netConn)
	} else {
		c.reader.Reset(netConn)
	}

	return nil
}

// abort makes a read or write blocked on the connection fail at once.
func (c *loadConn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.netConn != nil {
		_ = c.netConn.SetDeadline(time.Unix(1, 0))
	}
}

func (c *loadConn) disconnect() {
	c.mu.Lock()
	netConn := c.netConn
	c.netConn = nil
	c.mu.Unlock()

	if netConn != nil {
		_ = netConn.Close()
	}
}

// close closes the connection and stops watching the context.
func (c *loadConn) close() {
	c.stopAbort()
	c.disconnect()
}

func appendRequest(buf []byte, t target, request Request) []byte {
	buf = append(buf, "POST "...)
	buf = append(buf, t.pathPrefix...)
	buf = append(buf, request.Path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, t.host...)
	buf = append(buf, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(request.Body)), 10)
	buf = append(buf, "\r\n\r\n"...)

	return append(buf, request.Body...)
}
