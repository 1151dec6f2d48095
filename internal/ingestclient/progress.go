package ingestclient

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const (
	// plainInterval is the time between plain progress lines.
	plainInterval = 2 * time.Second

	// barInterval is the time between progress bar updates.
	barInterval = 100 * time.Millisecond
)

// progressReporter writes progress from a tally until stop is called. It shows
// a progress bar over input bytes on a terminal and plain lines elsewhere.
// An inputSize of -1 means the size is not known, as for the standard input,
// and the progress then leaves the share of input out.
type progressReporter struct {
	mu        sync.Mutex
	output    io.Writer
	bar       *progressbar.ProgressBar
	counts    *tally
	inputSize int64
	started   time.Time
	done      chan struct{}
	stopped   sync.WaitGroup
}

func startProgress(output io.Writer, inputSize int64, counts *tally, started time.Time) *progressReporter {
	reporter := &progressReporter{
		output:    output,
		counts:    counts,
		inputSize: inputSize,
		started:   started,
		done:      make(chan struct{}),
	}

	interval := plainInterval
	if isTerminal(output) {
		reporter.bar = newBar(output, inputSize)
		interval = barInterval
	}

	reporter.stopped.Go(func() {
		reporter.loop(interval)
	})

	return reporter
}

func isTerminal(output io.Writer) bool {
	file, ok := output.(*os.File)

	return ok && term.IsTerminal(int(file.Fd()))
}

func newBar(output io.Writer, inputSize int64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(inputSize,
		progressbar.OptionSetWriter(output),
		progressbar.OptionSetDescription("ingest"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(barInterval),
		progressbar.OptionSetPredictTime(true),
	)
}

func (r *progressReporter) loop(interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-ticker.C:
			r.update()
		case <-r.done:
			return
		}
	}
}

// stop writes the final progress and ends the loop.
func (r *progressReporter) stop() {
	close(r.done)
	r.stopped.Wait()

	r.update()
	if r.bar != nil {
		r.mu.Lock()
		_ = r.bar.Exit()
		fmt.Fprintln(r.output)
		r.mu.Unlock()
	}
}

// note writes a message, such as a retry, on its own line.
func (r *progressReporter) note(message string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	if r.bar != nil {
		_ = r.bar.Clear()
	}

	fmt.Fprintln(r.output, message)
}

func (r *progressReporter) update() {
	snapshot := r.counts.snapshot()

	r.mu.Lock()
	defer r.mu.Unlock()

	if r.bar == nil {
		fmt.Fprintln(r.output, r.plainLine(snapshot))

		return
	}

	r.bar.Describe(barDescription(snapshot))
	_ = r.bar.Set64(snapshot.doneBytes)
}

// barDescription formats the progress bar's text, such as "ingest: 3998
// accepted, 1 rejected, 1 line rejected before sending".
func barDescription(snapshot progressSnapshot) string {
	return "ingest: " + outcomeCounts(snapshot)
}

// outcomeCounts formats the accepted events, the events that the server
// rejected and, when there are any, the lines rejected before sending, as
// the summary counts them.
func outcomeCounts(snapshot progressSnapshot) string {
	counts := fmt.Sprintf("%d accepted, %d rejected", snapshot.accepted, snapshot.rejected)
	if snapshot.rejectedBeforeSending > 0 {
		counts += ", " + countOf(snapshot.rejectedBeforeSending, "line", "lines") + " rejected before sending"
	}

	return counts
}

// plainLine formats progress such as "ingest: 4000 events sent, 3998
// accepted, 2 rejected, 5231 events/s, 40% of input done".
func (r *progressReporter) plainLine(snapshot progressSnapshot) string {
	rate := eventsPerSecond(snapshot.sent, time.Since(r.started))
	line := fmt.Sprintf("ingest: %s sent, %s, %.0f events/s",
		countOf(snapshot.sent, "event", "events"), outcomeCounts(snapshot), rate)

	switch {
	case r.inputSize < 0:
		return line
	case r.inputSize == 0:
		return line + ", 100% of input done"
	default:
		return fmt.Sprintf("%s, %.0f%% of input done", line, 100*float64(snapshot.doneBytes)/float64(r.inputSize))
	}
}
