package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// bodyPrefix is how many bytes of a response body an error message keeps.
const bodyPrefix = 200

// response is the part of an HTTP/1.x response that the load generator keeps.
type response struct {
	status int
	// body is the start of the body, at most bodyPrefix bytes.
	body []byte
	// close is set when the server closes the connection after this
	// response, so the next request must dial again.
	close bool
}

// framing is the rule that marks the end of a response body (RFC 9112,
// section 6.3).
type framing struct {
	chunked bool
	// length is the Content-Length, or -1 when the body ends where the
	// server closes the connection.
	length int64
}

// readResponse reads one response from r to the end of its body, skipping
// interim 1xx responses, and appends the start of the body to body.
func readResponse(r *bufio.Reader, body []byte) (response, error) {
	for {
		head, frame, err := readHead(r)
		if err != nil {
			return response{body: body}, err
		}

		// 100 Continue and 103 Early Hints precede the final response and
		// have no body.
		if head.status >= 100 && head.status < 200 && head.status != 101 {
			continue
		}

		head.body, err = readBody(r, frame, body)
		if frame.length < 0 && !frame.chunked {
			head.close = true
		}

		return head, err
	}
}

// readHead reads the status line and the header fields.
func readHead(r *bufio.Reader) (response, framing, error) {
	line, err := readLine(r)
	if errors.Is(err, io.EOF) {
		return response{}, framing{}, errors.New("the server closed the connection before the status line")
	}
	if err != nil {
		return response{}, framing{}, fmt.Errorf("error reading the status line: %w", err)
	}

	head, keepAlive, err := parseStatusLine(line)
	if err != nil {
		return response{}, framing{}, err
	}

	frame := framing{length: -1}
	var lengthSeen, transferEncoding bool

	for {
		line, err := readLine(r)
		if err != nil {
			return response{}, framing{}, fmt.Errorf("error reading the header: %w", err)
		}

		if len(line) == 0 {
			break
		}

		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 {
			return response{}, framing{}, fmt.Errorf("invalid header line %q", line)
		}
		value = bytes.TrimSpace(value)

		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err := parseContentLength(value)
			if err != nil || (lengthSeen && length != frame.length) {
				return response{}, framing{}, fmt.Errorf("invalid Content-Length %q", value)
			}
			frame.length = length
			lengthSeen = true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			transferEncoding = true
			frame.chunked = lastTokenIs(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			if hasToken(value, "close") {
				keepAlive = false
			} else if hasToken(value, "keep-alive") {
				keepAlive = true
			}
		}
	}

	head.close = !keepAlive || head.status == 101

	switch {
	case head.status < 200 || head.status == 204 || head.status == 304:
		frame = framing{length: 0}
	case transferEncoding:
		// A Transfer-Encoding overrides Content-Length. Without chunked as
		// its last coding, the body ends where the server closes.
		frame.length = -1
	}

	return head, frame, nil
}

// parseStatusLine parses "HTTP/1.1 202 Accepted". keepAlive is the
// protocol's default: true for HTTP/1.1, false for HTTP/1.0.
func parseStatusLine(line []byte) (head response, keepAlive bool, err error) {
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(rest, []byte(" "))

	switch string(proto) {
	case "HTTP/1.1":
		keepAlive = true
	case "HTTP/1.0":
	default:
		return response{}, false, fmt.Errorf("invalid status line %q: not HTTP/1.0 or HTTP/1.1", line)
	}

	if len(code) != 3 {
		return response{}, false, fmt.Errorf("invalid status line %q: the status code is not 3 digits", line)
	}

	for _, digit := range code {
		if digit < '0' || digit > '9' {
			return response{}, false, fmt.Errorf("invalid status line %q: the status code is not 3 digits", line)
		}
		head.status = head.status*10 + int(digit-'0')
	}

	return head, keepAlive, nil
}

func parseContentLength(value []byte) (int64, error) {
	if len(value) == 0 || value[0] < '0' || value[0] > '9' {
		return 0, strconv.ErrSyntax
	}

	return strconv.ParseInt(string(value), 10, 64)
}

// readBody reads the body framed by frame and appends its first bytes to
// body.
func readBody(r *bufio.Reader, frame framing, body []byte) ([]byte, error) {
	switch {
	case frame.chunked:
		return readChunked(r, body)
	case frame.length >= 0:
		return consume(r, frame.length, body)
	}

	body, err := consume(r, bodyPrefix, body)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return body, nil
	}
	if err != nil {
		return body, err
	}

	if _, err := io.Copy(io.Discard, r); err != nil {
		return body, fmt.Errorf("error reading the body: %w", err)
	}

	return body, nil
}

// readChunked reads a body in the chunked transfer coding of RFC 9112 and
// its trailer section.
func readChunked(r *bufio.Reader, body []byte) ([]byte, error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return body, fmt.Errorf("error reading a chunk size: %w", err)
		}

		size, err := parseChunkSize(line)
		if err != nil {
			return body, err
		}

		if size == 0 {
			break
		}

		body, err = consume(r, size, body)
		if err != nil {
			return body, err
		}

		line, err = readLine(r)
		if err != nil {
			return body, fmt.Errorf("error reading the end of a chunk: %w", err)
		}

		if len(line) != 0 {
			return body, fmt.Errorf("invalid chunk: %d data bytes followed by %q instead of CRLF", size, line)
		}
	}

	for {
		line, err := readLine(r)
		if err != nil {
			return body, fmt.Errorf("error reading the trailer: %w", err)
		}

		if len(line) == 0 {
			return body, nil
		}
	}
}

// parseChunkSize parses the hexadecimal size of a chunk-size line, ignoring
// chunk extensions after ';'.
func parseChunkSize(line []byte) (int64, error) {
	digits, _, _ := bytes.Cut(line, []byte(";"))
	digits = bytes.TrimRight(digits, " \t")

	if len(digits) == 0 || len(digits) > 15 {
		return 0, fmt.Errorf("invalid chunk size %q", line)
	}

	var size int64
	for _, digit := range digits {
		var value byte
		switch {
		case digit >= '0' && digit <= '9':
			value = digit - '0'
		case digit >= 'a' && digit <= 'f':
			value = digit - 'a' + 10
		case digit >= 'A' && digit <= 'F':
			value = digit - 'A' + 10
		default:
			return 0, fmt.Errorf("invalid chunk size %q", line)
		}
		size = size<<4 | int64(value)
	}

	return size, nil
}

// consume reads n bytes of body data from r, appending them to body until
// it holds bodyPrefix bytes and discarding the rest.
func consume(r *bufio.Reader, n int64, body []byte) ([]byte, error) {
	keep := min(n, int64(bodyPrefix-len(body)))
	if keep > 0 {
		start := len(body)
		body = slices.Grow(body, int(keep))[:start+int(keep)]
		read, err := io.ReadFull(r, body[start:])
		body = body[:start+read]
		if err != nil {
			return body, fmt.Errorf("error reading the body: %w", unexpectedEOF(err))
		}
	}

	if rest := n - max(keep, 0); rest > 0 {
		if _, err := r.Discard(int(rest)); err != nil {
			return body, fmt.Errorf("error reading the body: %w", unexpectedEOF(err))
		}
	}

	return body, nil
}

// readLine reads one line, without its CRLF or LF, from r. The line is
// valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("line longer than %d bytes", r.Size())
	case errors.Is(err, io.EOF) && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}

	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}

	return line, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}

	return err
}

// hasToken reports whether the comma-separated list value contains token,
// ignoring case.
func hasToken(value []byte, token string) bool {
	for element := range bytes.SplitSeq(value, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(element), []byte(token)) {
			return true
		}
	}

	return false
}

// lastTokenIs reports whether the last element of the comma-separated list
// value is token, ignoring case.
func lastTokenIs(value []byte, token string) bool {
	last := value
	if i := bytes.LastIndexByte(value, ','); i >= 0 {
		last = value[i+1:]
	}

	return bytes.EqualFold(bytes.TrimSpace(last), []byte(token))
}
