// Command eventpulse-bench measures an eventpulse binary end to end
// against its own PostgreSQL and Redis, measures the ceilings of this
// machine in the same run, and prints one Markdown table.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/eventpulse/eventpulse/internal/bench"
)

func main() {
	config := bench.Config{}
	flag.StringVar(&config.Binary, "bin", "bin/eventpulse", "eventpulse binary to measure")
	flag.StringVar(&config.DataDir, "data", defaultDataDir(),
		"directory of *.ndjson events to send; synthetic events when it has none")
	flag.StringVar(&config.WorkDir, "out", ".run/bench", "directory for the server log and the profiles")
	flag.BoolVar(&config.Profiles, "pprof", true, "save CPU and allocation profiles of the single-event, batch and sustained runs, and mutex and block profiles of extra single-event and batch loads")
	flag.DurationVar(&config.Duration, "duration", 10*time.Second, "length of the single-event and batch runs")
	flag.DurationVar(&config.SustainedDuration, "sustained", 30*time.Second, "length of the sustained run")
	flag.IntVar(&config.SustainedRate, "rate", 22_000, "offered load of the sustained run, in events per second")
	flag.BoolVar(&config.KeepTimestamps, "keep-timestamps", false,
		"send the events' own timestamps instead of the time of the run (the Loghub samples date from 2005 to 2015)")
	flag.BoolVar(&config.Statements, "statements", false,
		"track PostgreSQL's statements with pg_stat_statements and report their time per event for the single-event and batch runs")
	only := flag.String("only", "", "comma-separated measures to run, of "+strings.Join(bench.Measures, ", ")+" (default: all)")
	serveBare := flag.String("serve-bare", "", "serve only the bare handlers on this address (used by the benchmark itself)")
	flag.Parse()

	if *serveBare != "" {
		log.Fatal(bench.ServeBare(*serveBare))
	}

	for _, measure := range strings.Split(*only, ",") {
		measure = strings.TrimSpace(measure)
		if measure == "" {
			continue
		}
		if !slices.Contains(bench.Measures, measure) {
			log.Fatalf("unknown measure %q in -only: use %s", measure, strings.Join(bench.Measures, ", "))
		}
		config.Only = append(config.Only, measure)
	}

	logger := log.New(os.Stderr, "bench: ", log.Ltime)
	config.Logf = logger.Printf

	self, err := os.Executable()
	if err != nil {
		logger.Fatalf("error finding this program to run the bare handler: %v", err)
	}
	config.BareCommand = self

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	loadBefore := readFirstLine("/proc/loadavg")
	started := time.Now()

	report, err := bench.Run(ctx, config)
	if report == nil {
		logger.Fatalf("error: %v", err)
	}

	printReport(report, loadBefore, started)

	if err != nil {
		logger.Fatalf("error: %v", err)
	}
}

func printReport(report *bench.Report, loadBefore string, started time.Time) {
	fmt.Printf("machine: %s, %d cores, %s memory, %s\n", cpuModel(), runtime.NumCPU(), memTotal(), runtime.Version())
	fmt.Printf("load average (1, 5, 15 min): %s before, %s after\n", loadFields(loadBefore), loadFields(readFirstLine("/proc/loadavg")))
	fmt.Printf("commit: %s; run took %s; command: %s\n\n", commit(), time.Since(started).Round(time.Second), strings.Join(os.Args, " "))

	bench.WriteTable(os.Stdout, report.Rows)

	fmt.Println()
	for _, note := range report.Notes {
		fmt.Println("- " + note)
	}
}

func readFirstLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}

	line, _, _ := strings.Cut(string(data), "\n")

	return line
}

func loadFields(loadavg string) string {
	fields := strings.Fields(loadavg)
	if len(fields) < 3 {
		return loadavg
	}

	return strings.Join(fields[:3], " ")
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

func memTotal() string {
	return procField("/proc/meminfo", "MemTotal")
}

// procField returns the value of the first "name: value" line of path.
func procField(path, name string) string {
	file, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer file.Close()

	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if ok && strings.TrimSpace(key) == name {
			return strings.TrimSpace(value)
		}
	}

	return "unknown"
}

func commit() string {
	output, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}

	return strings.TrimSpace(string(output))
}

// defaultDataDir is EVENTPULSE_TEST_DATA, or else the shared/data directory
// beside the checkout, which is where the tests look too.
func defaultDataDir() string {
	if dir := os.Getenv("EVENTPULSE_TEST_DATA"); dir != "" {
		return dir
	}

	return filepath.Join("..", "shared", "data")
}
