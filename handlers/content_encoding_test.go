package handlers

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func gzipOf(t *testing.T, data string) []byte {
	t.Helper()

	var buf bytes.Buffer
	writer := gzip.NewWriter(&buf)
	_, err := writer.Write([]byte(data))
	require.NoError(t, err)
	require.NoError(t, writer.Close())

	return buf.Bytes()
}

func TestReadGzipReusesPooledState(t *testing.T) {
	t.Parallel()

	for _, text := range []string{`{"a":1}`, `[]`, `{"b":"` + string(bytes.Repeat([]byte("x"), 10000)) + `"}`} {
		data, err := readGzip(bytes.NewReader(gzipOf(t, text)), 1<<20)
		require.NoError(t, err)
		require.Equal(t, text, string(data))
	}
}

// failingReader returns the first half of a gzip stream, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}

	n := copy(p, r.data)
	r.data = r.data[n:]

	return n, nil
}

func TestReadGzipKeepsReadError(t *testing.T) {
	t.Parallel()

	stream := gzipOf(t, `{"event_type":"e","source":"s"}`)
	_, err := readGzip(&failingReader{data: stream[:len(stream)/2], err: syscall.ECONNRESET}, 1<<20)

	require.ErrorIs(t, err, syscall.ECONNRESET)
	var invalid *invalidGzipError
	require.False(t, errors.As(err, &invalid), "a failed read is not a corrupt stream: %v", err)
}

func TestReadGzipTruncatedStream(t *testing.T) {
	t.Parallel()

	stream := gzipOf(t, `{"event_type":"e","source":"s"}`)
	_, err := readGzip(bytes.NewReader(stream[:len(stream)/2]), 1<<20)

	var invalid *invalidGzipError
	require.ErrorAs(t, err, &invalid)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, "body is not a valid gzip stream: the stream is truncated, or has bytes after its end", err.Error())
}

func TestReadGzipBytesAfterStream(t *testing.T) {
	t.Parallel()

	stream := append(gzipOf(t, `{"event_type":"e","source":"s"}`), "xyz"...)
	_, err := readGzip(bytes.NewReader(stream), 1<<20)
	require.EqualError(t, err, "body is not a valid gzip stream: the stream is truncated, or has bytes after its end")

	stream = append(gzipOf(t, `{"event_type":"e","source":"s"}`), "not a second gzip member"...)
	_, err = readGzip(bytes.NewReader(stream), 1<<20)
	require.EqualError(t, err, "body is not a valid gzip stream: gzip: invalid header")
}

func TestReadGzipLimit(t *testing.T) {
	t.Parallel()

	data, err := readGzip(bytes.NewReader(gzipOf(t, "0123456789")), 10)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(data))

	_, err = readGzip(bytes.NewReader(gzipOf(t, "0123456789A")), 10)
	require.ErrorIs(t, err, errDecompressedTooLarge)
}
