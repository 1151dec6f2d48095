package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Events are request bodies of single events, without event_id so the
// server assigns a fresh one to each request and no two requests collide.
type Events struct {
	Bodies [][]byte
	// Source names where the bodies came from.
	Source string
}

// LoadEvents reads every *.ndjson file in dir and drops each event's
// event_id. When dir is empty or holds no such file it returns synthetic
// events of about 300 bytes instead. With keepTimestamps false, the
// timestamp of the i-th event becomes now plus i microseconds, as for a
// service that reports events as they happen.
func LoadEvents(dir string, keepTimestamps bool, now time.Time) (Events, error) {
	retime := func(i int) string {
		if keepTimestamps {
			return ""
		}

		return now.Add(time.Duration(i) * time.Microsecond).UTC().Format(time.RFC3339Nano)
	}

	events := Events{}
	if dir != "" {
		paths, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
		if err != nil {
			return Events{}, fmt.Errorf("error listing %q: %w", dir, err)
		}

		if len(paths) > 0 {
			events, err = readEventFiles(paths, retime)
			if err != nil {
				return Events{}, err
			}
		}
	}

	if len(events.Bodies) == 0 {
		events = syntheticEvents(2000)
		if !keepTimestamps {
			for i, body := range events.Bodies {
				retimed, err := rewriteEvent(body, retime(i))
				if err != nil {
					return Events{}, fmt.Errorf("error setting the timestamp of synthetic event %d: %w", i, err)
				}
				events.Bodies[i] = retimed
			}
		}
	}

	if !keepTimestamps {
		events.Source += ", timestamps set to the time of the run"
	}

	return events, nil
}

// readEventFiles reads the events of paths, drops their event_id and, when
// retime returns a time for the i-th event, sets its timestamp to it.
func readEventFiles(paths []string, retime func(i int) string) (Events, error) {
	var bodies [][]byte

	for _, path := range paths {
		file, err := os.Open(path)
		if err != nil {
			return Events{}, fmt.Errorf("error opening %q: %w", path, err)
		}

		scanner := bufio.NewScanner(file)
		scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)

		for scanner.Scan() {
			body, err := rewriteEvent(scanner.Bytes(), retime(len(bodies)))
			if err != nil {
				_ = file.Close()
				return Events{}, fmt.Errorf("error reading an event in %q: %w", path, err)
			}

			bodies = append(bodies, body)
		}

		err = scanner.Err()
		_ = file.Close()

		if err != nil {
			return Events{}, fmt.Errorf("error reading %q: %w", path, err)
		}
	}

	return Events{Bodies: bodies, Source: fmt.Sprintf("%d events from %d files", len(bodies), len(paths))}, nil
}

// rewriteEvent drops the event_id of one event and, when timestamp is not
// empty, sets its timestamp.
func rewriteEvent(line []byte, timestamp string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return nil, err
	}

	delete(fields, "event_id")
	if timestamp != "" {
		fields["timestamp"] = json.RawMessage(strconv.Quote(timestamp))
	}

	return json.Marshal(fields)
}

func syntheticEvents(n int) Events {
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i] = []byte(`{"event_type":"http.request","source":"bench/web-` + strconv.Itoa(i%16) +
			`","timestamp":"2026-01-02T03:04:05.` + fmt.Sprintf("%03d", i%1000) + `Z",` +
			`"payload":{"method":"GET","path":"/api/orders/` + strconv.Itoa(i) + `","status":200,` +
			`"duration_ms":` + strconv.Itoa(i%250) + `,"bytes":5120},` +
			`"metadata":{"region":"eu-west-1","host":"web-` + strconv.Itoa(i%16) + `","version":"1.4.2"}}`)
	}

	return Events{Bodies: bodies, Source: fmt.Sprintf("%d synthetic events", n)}
}

// Batch returns a JSON array of size events starting at the offset-th body,
// wrapping around.
func (e Events) Batch(offset, size int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')

	for i := range size {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e.Bodies[(offset+i)%len(e.Bodies)])
	}

	buf.WriteByte(']')

	return buf.Bytes()
}

// MeanSize is the mean body size in bytes.
func (e Events) MeanSize() int {
	total := 0
	for _, body := range e.Bodies {
		total += len(body)
	}

	return total / max(len(e.Bodies), 1)
}
