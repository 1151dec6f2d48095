package bench

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRedisBenchmarkLastRate(t *testing.T) {
	t.Parallel()

	output := "XADD bench * f v: rps=120000.0 (overall: 118000.0) avg_msec=1.2\r" +
		"XADD bench.ceiling * f v: 412371.12 requests per second, p50=1.831 msec\n"
	rate, err := parseRedisBenchmark(output)
	require.NoError(t, err)
	require.InDelta(t, 412371.12, rate, 0.001)

	_, err = parseRedisBenchmark("ERR unknown command")
	require.Error(t, err)
}

func TestResultPercentiles(t *testing.T) {
	t.Parallel()

	var res Result
	for i := 100; i >= 1; i-- {
		res.Latencies = append(res.Latencies, time.Duration(i)*time.Millisecond)
	}

	require.Equal(t, 50*time.Millisecond, res.Percentile(0.50))
	require.Equal(t, 99*time.Millisecond, res.Percentile(0.99))
	require.Equal(t, 100*time.Millisecond, res.Latencies[0], "Percentile must not sort the latencies in place")
	require.Equal(t, time.Duration(0), Result{}.Percentile(0.99))
}

func TestThousandsSeparators(t *testing.T) {
	t.Parallel()

	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		require.Equal(t, want, thousands(n), "%d", n)
	}
}

func TestProcStatsOfThisProcess(t *testing.T) {
	t.Parallel()

	rss, peak, err := MemoryKiB(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, rss)
	require.GreaterOrEqual(t, peak, rss)

	onCPU, _, err := SchedStat(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, onCPU)
}

func TestTableEscapesCells(t *testing.T) {
	t.Parallel()

	var out strings.Builder
	WriteTable(&out, []Row{NotBuilt("a|b", "t", "GET /x answers 404"), {Measure: "m", Result: "r"}})

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, `| a\|b | n/a (not built): GET /x answers 404 | t | - | - |`, lines[2])
	require.Equal(t, "| m | r | - | - | - |", lines[3])
}

func TestLoadEventsSyntheticWithoutData(t *testing.T) {
	t.Parallel()

	events, err := LoadEvents(t.TempDir(), true, time.Time{})
	require.NoError(t, err)
	require.Len(t, events.Bodies, 2000)
	require.NotContains(t, string(events.Bodies[0]), "event_id")

	batch := events.Batch(1999, 3)
	require.True(t, strings.HasPrefix(string(batch), "["+string(events.Bodies[1999])+","+string(events.Bodies[0])+","))
}

func TestTreeCPUCountsRunningChildren(t *testing.T) {
	t.Parallel()

	// The child burns CPU in a shell loop, then sleeps until killed.
	child := exec.Command("sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec sleep 60")
	require.NoError(t, child.Start())
	t.Cleanup(func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	})

	var childCPU time.Duration
	require.Eventually(t, func() bool {
		var err error
		childCPU, err = TreeCPU(child.Process.Pid)
		return err == nil && childCPU >= 30*time.Millisecond
	}, time.Minute, 20*time.Millisecond)

	self, err := SelfCPU()
	require.NoError(t, err)
	tree, err := TreeCPU(os.Getpid())
	require.NoError(t, err)
	// Ticks are 10 ms, so allow two of them for rounding.
	require.GreaterOrEqual(t, tree, self+childCPU-20*time.Millisecond)

	_, err = TreeCPU(0)
	require.Error(t, err)
}

func TestLoadEventsSetsTimestampsOfTheRun(t *testing.T) {
	t.Parallel()

	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	events, err := LoadEvents(t.TempDir(), false, now)
	require.NoError(t, err)
	require.Contains(t, string(events.Bodies[0]), `"timestamp":"2026-12-04T10:00:00Z"`)
	require.Contains(t, string(events.Bodies[3]), `"timestamp":"2026-12-04T10:00:00.000003Z"`)
	require.Contains(t, string(events.Bodies[3]), `"source":"bench/web-3"`)
	require.NotContains(t, string(events.Bodies[3]), "2026-01-02T03:04:05")
}

func TestLoadEventsFromFiles(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	lines := `{"event_id":"0b8e6c4e-0d0c-4c39-9a4f-5b1f1c1d2e3f","event_type":"sshd","source":"host-1","timestamp":"2015-01-02T03:04:05Z"}` + "\n" +
		`{"event_type":"sshd","source":"host-2","timestamp":"2015-01-02T03:04:06Z"}` + "\n"
	require.NoError(t, os.WriteFile(dir+"/auth.ndjson", []byte(lines), 0o600))

	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	retimed, err := LoadEvents(dir, false, now)
	require.NoError(t, err)
	require.Len(t, retimed.Bodies, 2)
	require.Equal(t, `{"event_type":"sshd","source":"host-1","timestamp":"2026-12-04T10:00:00Z"}`, string(retimed.Bodies[0]))
	require.Equal(t, `{"event_type":"sshd","source":"host-2","timestamp":"2026-12-04T10:00:00.000001Z"}`, string(retimed.Bodies[1]))

	kept, err := LoadEvents(dir, true, now)
	require.NoError(t, err)
	require.Equal(t, `{"event_type":"sshd","source":"host-1","timestamp":"2015-01-02T03:04:05Z"}`, string(kept.Bodies[0]))
	require.Equal(t, "2 events from 1 files", kept.Source)
}

func TestPerUnitCPUTimes(t *testing.T) {
	t.Parallel()

	parts := []cpuPart{{"eventpulse", 600 * time.Millisecond}, {"Redis", 50 * time.Millisecond}}
	got := perUnit(parts, 10_000, "accepted event", 2)

	require.Contains(t, got, "eventpulse 60.0 µs, Redis 5.0 µs")
	require.Contains(t, got, "65.0 µs in all, of the 200.0 µs")
}

func TestBacklogCountsCommandsAndRecords(t *testing.T) {
	t.Parallel()

	samples := []sample{
		{commands: 0, logLag: 0},
		{commands: 3, logLag: 9},
		{commands: 1, logLag: 2},
		{commands: 5, logLag: 4},
	}

	mid, end, maxLag := backlog(samples)
	require.Equal(t, int64((1+2)*batchSize), mid, "the middle sample is the third of four")
	require.Equal(t, int64((5+4)*batchSize), end)
	require.Equal(t, int64(9), maxLag)

	samples[3].commands = -1
	mid, end, _ = backlog(samples)
	require.Equal(t, int64(3*batchSize), mid)
	require.Equal(t, int64(-1), end, "an unknown Redis lag makes the backlog unknown")

	mid, end, maxLag = backlog(nil)
	require.Zero(t, mid)
	require.Zero(t, end)
	require.Zero(t, maxLag)
}

func TestStoredShareInResultCell(t *testing.T) {
	r := &runner{}
	require.Empty(t, r.storedWhenStopped("single"), "no share was measured")

	r.stored = map[string]float64{"single": 0.754}
	require.Equal(t, ", 75% in `events` when the load stopped", r.storedWhenStopped("single"))
	require.Empty(t, r.storedWhenStopped("batch"))
}
