package ingestclient

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"
)

// tally counts the outcome of a run. Its methods are safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	sent     int
	accepted int
	// sentRejected is the number of rejections by the server. The other
	// rejections are of lines that were not sent.
	sentRejected int
	blankLines   int
	rejections   []rejection
	// ignored holds the accepted lines of which the server ignored a
	// member, in the same form as rejections.
	ignored   []rejection
	doneBytes int64
	// unsentFiles are the files that the run left unfinished.
	unsentFiles []unsentFile
}

// unsentFile is an UnsentFile with the index of its file, for sorting.
type unsentFile struct {
	UnsentFile
	fileIndex int
}

// rejection is a Rejection with the index of its file, for sorting.
type rejection struct {
	Rejection
	fileIndex int
}

// progressSnapshot is a copy of the counters for progress output.
type progressSnapshot struct {
	sent, accepted int
	// rejected counts the events that the server rejected, and
	// rejectedBeforeSending the lines rejected without being sent.
	rejected, rejectedBeforeSending int
	doneBytes                       int64
}

func (t *tally) reject(position event, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.rejections = append(t.rejections, rejection{
		Rejection: Rejection{File: position.file, Line: position.line, Reason: reason},
		fileIndex: position.fileIndex,
	})
}

// rejectSent records a rejection by the server, which also counts the event
// as sent.
func (t *tally) rejectSent(position event, reason string) {
	t.reject(position, reason)

	t.mu.Lock()
	t.sent++
	t.sentRejected++
	t.mu.Unlock()
}

// skipBlank counts a blank line, which is not sent.
func (t *tally) skipBlank() {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.blankLines++
}

// ignore records that the server accepted the event at position without
// its member field.
func (t *tally) ignore(position event, field string) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.ignored = append(t.ignored, rejection{
		Rejection: Rejection{File: position.file, Line: position.line, Reason: fmt.Sprintf("member %q was ignored", field)},
		fileIndex: position.fileIndex,
	})
}

// unsent records that the lines of file from line on were not sent.
func (t *tally) unsent(fileIndex int, file string, line int) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.unsentFiles = append(t.unsentFiles, unsentFile{UnsentFile: UnsentFile{File: file, FromLine: line}, fileIndex: fileIndex})
}

func (t *tally) accept(count int) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.sent += count
	t.accepted += count
}

// finishBatch counts the input bytes of a batch whose events all have an
// outcome.
func (t *tally) finishBatch(size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.doneBytes += size
}

func (t *tally) snapshot() progressSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()

	return progressSnapshot{
		sent:                  t.sent,
		accepted:              t.accepted,
		rejected:              t.sentRejected,
		rejectedBeforeSending: len(t.rejections) - t.sentRejected,
		doneBytes:             t.doneBytes,
	}
}

// summary returns the Summary with rejections ordered by file and line,
// because concurrent batches finish in any order.
func (t *tally) summary(elapsed time.Duration) Summary {
	t.mu.Lock()
	defer t.mu.Unlock()

	rejections := sortedByLine(t.rejections)

	unsent := slices.Clone(t.unsentFiles)
	slices.SortFunc(unsent, func(a, b unsentFile) int { return cmp.Compare(a.fileIndex, b.fileIndex) })

	var files []UnsentFile
	for _, f := range unsent {
		files = append(files, f.UnsentFile)
	}

	return Summary{
		Sent:       t.sent,
		Accepted:   t.accepted,
		Rejected:   len(rejections),
		Rejections: rejections,
		Ignored:    sortedByLine(t.ignored),
		BlankLines: t.blankLines,
		Unsent:     files,
		Duration:   elapsed,
	}
}

// sortedByLine returns the lines of list ordered by file and line.
func sortedByLine(list []rejection) []Rejection {
	sorted := slices.Clone(list)
	slices.SortStableFunc(sorted, func(a, b rejection) int {
		return cmp.Or(cmp.Compare(a.fileIndex, b.fileIndex), cmp.Compare(a.Line, b.Line))
	})

	lines := make([]Rejection, len(sorted))
	for i, r := range sorted {
		lines[i] = r.Rejection
	}

	return lines
}
