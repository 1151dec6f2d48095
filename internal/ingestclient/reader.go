package ingestclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"
)

// readBufferSize is the bufio.Reader buffer. Lines longer than it are read in
// several chunks, up to Options.LineSizeMax.
const readBufferSize = 64 << 10

// event is one input line and the position it came from.
type event struct {
	raw       []byte
	file      string
	fileIndex int
	line      int
}

// batch is a run of consecutive events. Its size is the number of input bytes
// that it covers, including blank and locally rejected lines, so that progress
// can count bytes when the batch is done. A batch may have no events.
type batch struct {
	events []event
	size   int64
	// endLine is the last input line that the batch covers. Once the batch
	// is done, the file continues at endLine+1.
	endLine int
	// ids holds the event ids that the batch's lines carry.
	ids map[uuid.UUID]bool
	// bodySize is the size of the request body that encodeBatch makes of
	// events.
	bodySize int64
}

// batchReader splits one input file into batches and sends them on out.
type batchReader struct {
	batchSize int
	// maxBodyBytes is the server's request body limit, which bounds the
	// lines and the body of each batch.
	maxBodyBytes int64
	// startLine is the first line to send. Earlier lines are skipped.
	startLine int
	out       chan<- batch
	tally     *tally
	pending   batch
	// stdin is read for the file named StdinName.
	stdin io.Reader
}

// run reads the file in order and sends the last, partial batch. The caller
// closes out after run returns.
func (r *batchReader) run(ctx context.Context, fileIndex int, file string) error {
	if err := r.readFile(ctx, fileIndex, file); err != nil {
		return err
	}

	return r.flush(ctx)
}

func (r *batchReader) readFile(ctx context.Context, fileIndex int, file string) error {
	input := r.stdin
	if file != StdinName {
		f, err := os.Open(file)
		if err != nil {
			return &inputError{err: fmt.Errorf("error opening file %q: %w", file, err)}
		}
		defer f.Close()

		input = f
	}

	reader := bufio.NewReaderSize(input, readBufferSize)
	for lineNumber := 1; ; lineNumber++ {
		line, size, err := readLine(reader, int(r.lineSizeMax()))
		if errors.Is(err, io.EOF) {
			// A start line right after the last line sends nothing, as
			// when a stopped run had sent the whole file. One further on
			// names a line the file does not have.
			if lines := lineNumber - 1; r.startLine > lines+1 {
				return &inputError{err: fmt.Errorf("error reading file %q: it has %s, so it has no start line %d",
					file, countOf(lines, "line", "lines"), r.startLine)}
			}

			return nil
		}

		if err != nil && !errors.Is(err, errLineTooLong) {
			return fmt.Errorf("error reading file %q at line %d: %w", file, lineNumber, err)
		}

		r.pending.size += size
		if lineNumber < r.startLine {
			r.pending.endLine = lineNumber

			continue
		}

		position := event{file: file, fileIndex: fileIndex, line: lineNumber}
		if err := r.addLine(ctx, position, line, err); err != nil {
			return err
		}
	}
}

// addLine adds one line to the pending batch, or records it as rejected when
// readErr is set or the line is not a JSON object. Blank lines are counted
// and skipped.
func (r *batchReader) addLine(ctx context.Context, position event, line []byte, readErr error) error {
	if readErr != nil {
		r.tally.reject(position, fmt.Sprintf("line is longer than %d bytes, the longest event that fits in a request body of %d bytes",
			r.lineSizeMax(), r.maxBodyBytes))
		r.pending.endLine = position.line

		return nil
	}

	if len(bytes.TrimSpace(line)) == 0 {
		r.tally.skipBlank()
		r.pending.endLine = position.line

		return nil
	}

	id, hasID, reason := parseLine(line)
	if reason != "" {
		r.tally.reject(position, reason)
		r.pending.endLine = position.line

		return nil
	}

	// A line that would take the body past the server's limit starts a new
	// batch, so the server does not reject the request with 413.
	if len(r.pending.events) > 0 && r.pending.bodySize+1+int64(len(line)) > r.maxBodyBytes {
		if err := r.flush(ctx); err != nil {
			return err
		}
	}

	// The server rejects a batch that carries an event id twice, while it
	// stores an id sent again in a later request once. A repeated id
	// therefore starts a new batch, so a file gives the same result
	// whatever the batch size.
	if hasID {
		if r.pending.ids[id] {
			if err := r.flush(ctx); err != nil {
				return err
			}
		}

		if r.pending.ids == nil {
			r.pending.ids = map[uuid.UUID]bool{}
		}
		r.pending.ids[id] = true
	}

	if len(r.pending.events) == 0 {
		r.pending.bodySize = batchBracketsBytes
	} else {
		r.pending.bodySize++ // the comma before the line
	}
	r.pending.bodySize += int64(len(line))

	position.raw = line
	r.pending.events = append(r.pending.events, position)
	r.pending.endLine = position.line
	if len(r.pending.events) < r.batchSize {
		return nil
	}

	return r.flush(ctx)
}

// lineSizeMax returns the longest line accepted; see Options.LineSizeMax.
func (r *batchReader) lineSizeMax() int64 {
	return Options{MaxBodyBytes: r.maxBodyBytes}.LineSizeMax()
}

// flush sends the pending batch, if it has events or bytes, and starts a new
// one.
func (r *batchReader) flush(ctx context.Context) error {
	if len(r.pending.events) == 0 && r.pending.size == 0 {
		return nil
	}

	select {
	case r.out <- r.pending:
	case <-ctx.Done():
		return ctx.Err()
	}

	r.pending = batch{events: make([]event, 0, r.batchSize)}

	return nil
}

// parseLine returns the event id that line carries, and false when it
// has none that parses as a UUID, or why line is not a single JSON object.
func parseLine(line []byte) (id uuid.UUID, hasID bool, reason string) {
	var fields struct {
		EventID json.RawMessage `json:"event_id"`
	}

	err := json.Unmarshal(line, &fields)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		// event_id is read raw, so only a value that is not an object
		// has the wrong type.
		return uuid.UUID{}, false, "not a JSON object"
	case err != nil && bytes.HasPrefix(line, []byte("\xef\xbb\xbf")):
		return uuid.UUID{}, false, "invalid JSON: the line starts with a UTF-8 byte order mark (EF BB BF); save the file without it"
	case err != nil:
		return uuid.UUID{}, false, "invalid JSON: " + err.Error()
	case bytes.TrimSpace(line)[0] != '{':
		// null decodes into a struct without an error.
		return uuid.UUID{}, false, "not a JSON object"
	}

	var text string
	if json.Unmarshal(fields.EventID, &text) != nil {
		return uuid.UUID{}, false, ""
	}

	id, err = uuid.Parse(text)

	return id, err == nil, ""
}

var errLineTooLong = errors.New("line too long")

// inputError is a file that cannot be opened, or that ends before the start
// line. Sending the same file with the same options fails the same way, so
// the file gets no line to continue from.
type inputError struct {
	err error
}

func (e *inputError) Error() string { return e.err.Error() }

func (e *inputError) Unwrap() error { return e.err }

// readLine returns the next line without its line ending ("\n" or "\r\n")
// and the number of bytes that it took up in the input. A line longer than
// maxSize is consumed whole and returned as errLineTooLong. At the end of the
// input it returns io.EOF. The returned line is a new slice.
func readLine(reader *bufio.Reader, maxSize int) ([]byte, int64, error) {
	var (
		line    []byte
		size    int64
		tooLong bool
	)

	for {
		chunk, err := reader.ReadSlice('\n')
		size += int64(len(chunk))

		// maxSize+2 leaves room for a "\r\n" ending.
		if !tooLong && len(line)+len(chunk) <= maxSize+2 {
			line = append(line, chunk...)
		} else {
			tooLong, line = true, nil
		}

		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}

		if err != nil && !errors.Is(err, io.EOF) {
			return nil, size, err
		}

		if errors.Is(err, io.EOF) && size == 0 {
			return nil, 0, io.EOF
		}

		break
	}

	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if tooLong || len(line) > maxSize {
		return nil, size, errLineTooLong
	}

	return line, size, nil
}
