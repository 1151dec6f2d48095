package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Row is one line of the result table.
type Row struct {
	Measure string
	Result  string
	Target  string
	// Ceiling and Ratio compare Result with a limit measured in the same
	// run; both are empty when no limit applies.
	Ceiling string
	Ratio   string
}

// NotBuilt returns a row for a feature this build lacks, with the reason
// found at run time.
func NotBuilt(measure, target, reason string) Row {
	return Row{Measure: measure, Result: "n/a (not built): " + reason, Target: target}
}

// Failed returns a row for a measurement that could not be taken.
func Failed(measure, target string, err error) Row {
	return Row{Measure: measure, Result: "failed: " + err.Error(), Target: target}
}

// WriteTable prints rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| measure | result | target | ceiling, same run | ratio to ceiling |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")

	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n",
			cell(row.Measure), cell(row.Result), cell(row.Target), cell(row.Ceiling), cell(row.Ratio))
	}
}

func cell(s string) string {
	if s == "" {
		return "-"
	}

	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// rate formats a per-second figure with thousands separators.
func rate(perSecond float64, unit string) string {
	return thousands(int64(math.Round(perSecond))) + " " + unit + "/s"
}

func ratio(value, ceiling float64) string {
	if ceiling <= 0 {
		return ""
	}

	return fmt.Sprintf("%.2f", value/ceiling)
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}

	var b strings.Builder
	for i, digit := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(digit)
	}

	return b.String()
}
