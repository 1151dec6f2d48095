package ingestclient

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// rejectionListMax is the number of rejections that Summary.Write lists.
const rejectionListMax = 100

// Rejection is an input line that was not stored, either because it is not a
// JSON object or because the server rejected it.
type Rejection struct {
	// File is the input file name as given in Options.Files.
	File string

	// Line is the 1-based line number in File.
	Line int

	// Reason is the local parse error or the server's validation message,
	// prefixed with the field path, such as "payload: must be an object".
	Reason string
}

// UnsentFile is an input file of which a stopped run did not send the
// lines from FromLine on.
type UnsentFile struct {
	File     string
	FromLine int
}

// Summary is the outcome of Run.
type Summary struct {
	// Sent is the number of events that the server accepted or rejected. An event resent after a partial rejection
	// counts once.
	Sent int

	// Accepted is the number of events that the server stored.
	Accepted int

	// Rejected is the number of lines rejected locally or by the server. It
	// equals len(Rejections). RejectedByServer and RejectedBeforeSending
	// split it.
	Rejected int

	// Rejections lists the rejected lines ordered by file and line.
	Rejections []Rejection

	// Ignored lists the accepted lines with a member that the server does
	// not use, such as a misspelt "paylod", one entry per member, ordered
	// by file and line. Reason names the member.
	Ignored []Rejection

	// BlankLines is the number of lines that were skipped because they are
	// empty or contain only white space. Lines before Options.StartLine are
	// not counted.
	BlankLines int

	// Unsent lists the files that a stopped run left unfinished, in the
	// order given. Each one's lines from FromLine on were not sent, and
	// every line before it has its outcome in this Summary. A file that
	// could not be opened, or that ends before Options.StartLine, is not
	// listed, because running the same options again would fail the same
	// way. The error of Run names such a file.
	Unsent []UnsentFile

	// Duration is the wall-clock time of the run.
	Duration time.Duration
}

// RejectedByServer returns the number of sent events that the server
// rejected.
func (s Summary) RejectedByServer() int {
	return s.Sent - s.Accepted
}

// RejectedBeforeSending returns the number of lines rejected without being
// sent, such as lines that are not JSON objects.
func (s Summary) RejectedBeforeSending() int {
	return max(s.Rejected-s.RejectedByServer(), 0)
}

// OK reports whether no line was rejected. A run whose Run call returned an
// error did not finish, so it failed even when OK returns true.
func (s Summary) OK() bool {
	return s.Rejected == 0
}

// Write prints the totals and then one "FILE:LINE: reason" line per
// rejection, listing at most rejectionListMax of them, and then, when the
// server ignored members of accepted lines, one "FILE:LINE: warning:" line
// per member, as many at most. Write errors are ignored because the
// summary is a report for a person.
func (s Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "ingest: %s sent in %s (%.0f events/s): %d accepted, %d rejected",
		countOf(s.Sent, "event", "events"), s.Duration.Round(time.Millisecond), eventsPerSecond(s.Sent, s.Duration),
		s.Accepted, s.RejectedByServer())

	var lineCounts []string
	if rejectedBeforeSending := s.RejectedBeforeSending(); rejectedBeforeSending > 0 {
		lineCounts = append(lineCounts, countOf(rejectedBeforeSending, "more line", "more lines")+" rejected before sending")
	}
	if s.BlankLines > 0 {
		lineCounts = append(lineCounts, countOf(s.BlankLines, "blank line", "blank lines")+" skipped")
	}
	if len(lineCounts) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(lineCounts, ", "))
	}
	fmt.Fprintln(w)

	writeLines(w, s.Rejections, "", "rejection", "rejections")

	if len(s.Ignored) > 0 {
		if len(s.Ignored) == 1 {
			fmt.Fprintln(w, "ingest: 1 member of an accepted event was ignored, because events have no such member")
		} else {
			fmt.Fprintf(w, "ingest: %d members of accepted events were ignored, because events have no such members\n", len(s.Ignored))
		}
		writeLines(w, s.Ignored, "warning: ", "warning", "warnings")
	}

	if len(s.Unsent) > 0 {
		fmt.Fprintf(w, "ingest: the run stopped before sending every line; to send the rest, run with the same options:\n")
		for _, file := range s.Unsent {
			fmt.Fprintf(w, "  eventpulse ingest --start-line %d %s\n", file.FromLine, shellQuote(file.File))
		}
	}
}

// countOf returns count followed by the singular noun when count is 1 and
// by the plural noun otherwise, such as "1 event" or "0 events".
func countOf(count int, singular, plural string) string {
	if count == 1 {
		return "1 " + singular
	}

	return fmt.Sprintf("%d %s", count, plural)
}

// writeLines prints up to rejectionListMax of lines as "FILE:LINE: " with
// prefix and the reason, and how many more there are, counted with the
// singular or plural noun.
func writeLines(w io.Writer, lines []Rejection, prefix, singular, plural string) {
	for i, line := range lines {
		if i == rejectionListMax {
			fmt.Fprintf(w, "... %s not listed\n", countOf(len(lines)-rejectionListMax, "more "+singular, "more "+plural))

			break
		}

		fmt.Fprintf(w, "%s:%d: %s%s\n", line.File, line.Line, prefix, line.Reason)
	}
}

func eventsPerSecond(events int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}

	return float64(events) / elapsed.Seconds()
}

// shellQuote returns name as one word for a POSIX shell, in single quotes
// unless it contains only characters that need none.
func shellQuote(name string) string {
	needsQuotes := func(r rune) bool {
		safe := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/+,:@%=", r)

		return !safe
	}
	if name != "" && strings.IndexFunc(name, needsQuotes) < 0 {
		return name
	}

	return "'" + strings.ReplaceAll(name, "'", `'\''`) + "'"
}
