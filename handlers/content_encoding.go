package handlers

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/eventpulse/eventpulse/internal/oas"
)

// supportedEncodings lists the request content codings of the ingest
// routes, for the 415 message and the Accept-Encoding response header that
// RFC 7694 defines for it.
const supportedEncodings = "gzip, identity"

// errDecompressedTooLarge is returned by readGzip for a body that is
// larger than the limit once decompressed.
var errDecompressedTooLarge = errors.New("decompressed request body is too large")

// invalidGzipError is a request body that is not a valid gzip stream.
type invalidGzipError struct {
	err error
}

func (e *invalidGzipError) Error() string {
	switch {
	case errors.Is(e.err, io.EOF):
		return "body is not a valid gzip stream: the body is empty"
	case errors.Is(e.err, io.ErrUnexpectedEOF):
		// After a whole member, fewer bytes than a gzip header end the
		// same way.
		return "body is not a valid gzip stream: the stream is truncated, or has bytes after its end"
	default:
		return "body is not a valid gzip stream: " + e.err.Error()
	}
}

func (e *invalidGzipError) Unwrap() error { return e.err }

// isGzipped reports whether the request body is gzip-compressed, from its
// Content-Encoding header, a list of the codings applied in order. It
// accepts gzip (or its alias x-gzip) at most once and identity anywhere.
// For any other list it writes a 415 response and returns ok false.
func isGzipped(w http.ResponseWriter, r *http.Request) (gzipped, ok bool) {
	values := r.Header["Content-Encoding"]
	if len(values) == 0 {
		return false, true
	}

	for coding := range contentCodings(values) {
		switch coding {
		case "identity":
		case "gzip", "x-gzip":
			if gzipped {
				writeUnsupportedEncoding(w, values)
				return false, false
			}
			gzipped = true
		default:
			writeUnsupportedEncoding(w, values)
			return false, false
		}
	}

	return gzipped, true
}

// contentCodings yields the content codings named in the values of a
// Content-Encoding header, in lower case, leaving out empty list items.
func contentCodings(values []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, value := range values {
			for coding := range strings.SplitSeq(value, ",") {
				name := strings.ToLower(strings.TrimSpace(coding))
				if name != "" && !yield(name) {
					return
				}
			}
		}
	}
}

func writeUnsupportedEncoding(w http.ResponseWriter, values []string) {
	w.Header().Set("Accept-Encoding", supportedEncodings)
	writeJSON(w, http.StatusUnsupportedMediaType, &oas.Error{
		Error: "Content-Encoding must be gzip or identity, got " + strconv.Quote(strings.Join(values, ", ")),
	})
}

// gzipBody is the state of decompressing one request body. It is pooled
// because a new gzip.Reader allocates about 40 KiB (measured with Go 1.26)
// for its window and Huffman tables, and a bufio.Reader its buffer.
type gzipBody struct {
	source   sourceReader
	buffered *bufio.Reader
	reader   gzip.Reader
}

var gzipBodies = sync.Pool{New: func() any {
	body := &gzipBody{}
	body.buffered = bufio.NewReader(&body.source)

	return body
}}

// sourceReader reads the compressed body and keeps the first error other
// than io.EOF, so that readGzip can distinguish a failed read of the
// request from a corrupt stream.
type sourceReader struct {
	body io.Reader
	err  error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}

	return n, err
}

// readGzip decompresses body and returns at most maxBytes of it. It
// returns errDecompressedTooLarge for a longer body, an *invalidGzipError
// for a corrupt or truncated stream, and the error of body when reading it
// failed. Concatenated gzip members are read as one body (RFC 1952).
func readGzip(body io.Reader, maxBytes int64) ([]byte, error) {
	state := gzipBodies.Get().(*gzipBody)
	defer func() {
		state.source = sourceReader{}
		gzipBodies.Put(state)
	}()

	state.source.body = body
	state.buffered.Reset(&state.source)

	var data []byte
	err := state.reader.Reset(state.buffered)
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(&state.reader, maxBytes+1))
	}

	switch {
	case state.source.err != nil:
		return nil, state.source.err
	case err != nil:
		return nil, &invalidGzipError{err: err}
	case int64(len(data)) > maxBytes:
		return nil, errDecompressedTooLarge
	}

	return data, nil
}

// RejectContentEncoding is chi middleware for the routes that read their
// body uncompressed, all but ingestion. A request body whose
// Content-Encoding names a coding other than identity gets 415 with
// Accept-Encoding: identity, instead of a decoding error about the
// compressed bytes.
func RejectContentEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header["Content-Encoding"]
		if r.ContentLength == 0 {
			values = nil
		}

		for coding := range contentCodings(values) {
			if coding != "identity" {
				w.Header().Set("Accept-Encoding", "identity")
				writeJSON(w, http.StatusUnsupportedMediaType, &oas.Error{
					Error: "Content-Encoding must be identity on this route, got " + strconv.Quote(strings.Join(values, ", ")),
				})

				return
			}
		}

		next.ServeHTTP(w, r)
	})
}
