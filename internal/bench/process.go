package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is an eventpulse child process.
type Server struct {
	URL       string
	PprofURL  string
	cmd       *exec.Cmd
	exited    chan struct{}
	waitErr   error
	logPath   string
	logFile   *os.File
	stopGrace time.Duration
}

// ServerConfig configures StartServer.
type ServerConfig struct {
	Binary      string
	DatabaseURL string
	RedisURL    string
	// LogPath receives the process's standard output and error.
	LogPath string
	// Pprof exposes net/http/pprof on a free loopback port.
	Pprof bool
}

// StartServer starts `eventpulse run` on free loopback ports and waits
// until GET /readyz answers 200.
func StartServer(ctx context.Context, config ServerConfig) (*Server, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}

	logFile, err := os.Create(config.LogPath)
	if err != nil {
		return nil, fmt.Errorf("error creating %q: %w", config.LogPath, err)
	}

	cmd := exec.Command(config.Binary, "run")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+config.DatabaseURL,
		"REDIS_URL="+config.RedisURL,
		"EVENTPULSE_HTTP_ADDR="+httpAddr,
		"EVENTPULSE_LOG_LEVEL=warn",
	)

	server := &Server{
		URL:       "http://" + httpAddr,
		cmd:       cmd,
		exited:    make(chan struct{}),
		logPath:   config.LogPath,
		logFile:   logFile,
		stopGrace: 30 * time.Second,
	}

	if config.Pprof {
		pprofAddr, err := freeAddr()
		if err != nil {
			_ = logFile.Close()
			return nil, err
		}

		cmd.Env = append(cmd.Env, "EVENTPULSE_PPROF_ADDR="+pprofAddr)
		server.PprofURL = "http://" + pprofAddr
	}

	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("error starting %s run: %w", config.Binary, err)
	}

	go func() {
		server.waitErr = cmd.Wait()
		close(server.exited)
	}()

	if err := server.waitReady(ctx); err != nil {
		return nil, errors.Join(err, server.Stop())
	}

	return server, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	for {
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
		if err != nil {
			return err
		}

		response, err := http.DefaultClient.Do(request)
		if err == nil {
			_ = response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
		}

		select {
		case <-s.exited:
			if s.waitErr == nil {
				return fmt.Errorf("eventpulse run exited with status 0 before it was ready; see %s", s.logPath)
			}

			return fmt.Errorf("eventpulse run exited before it was ready (%w); see %s", s.waitErr, s.logPath)
		case <-ctx.Done():
			return fmt.Errorf("eventpulse run was not ready within a minute; see %s", s.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PID is the process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the exit, killing the process after
// the grace period.
func (s *Server) Stop() error {
	defer func() { _ = s.logFile.Close() }()

	select {
	case <-s.exited:
		return nil
	default:
	}

	_ = s.cmd.Process.Signal(syscall.SIGTERM)

	select {
	case <-s.exited:
	case <-time.After(s.stopGrace):
		_ = s.cmd.Process.Kill()
		<-s.exited

		return fmt.Errorf("eventpulse run did not stop within %s after SIGTERM and was killed", s.stopGrace)
	}

	var exitErr *exec.ExitError
	if errors.As(s.waitErr, &exitErr) {
		return fmt.Errorf("eventpulse run exited with %w; see %s", exitErr, s.logPath)
	}

	return nil
}

// MemoryKiB reads the resident set size and its peak (VmRSS and VmHWM) of
// process pid from /proc, in KiB.
func MemoryKiB(pid int) (rss, peak int, err error) {
	file, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("error reading the memory of process %d: %w", pid, err)
	}
	defer file.Close()

	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok {
			continue
		}

		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}

		switch name {
		case "VmRSS":
			rss, _ = strconv.Atoi(fields[0])
		case "VmHWM":
			peak, _ = strconv.Atoi(fields[0])
		}
	}

	return rss, peak, scanner.Err()
}

func freeAddr() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("error finding a free port: %w", err)
	}
	defer listener.Close()

	return listener.Addr().String(), nil
}

// SchedStat sums /proc/PID/task/*/schedstat over the threads of process
// pid: the time they ran on a CPU and the time they were runnable but
// waiting for one. A large wait time means the machine, not the process,
// was the limit. Threads that exited are not counted.
func SchedStat(pid int) (onCPU, waiting time.Duration, err error) {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return 0, 0, fmt.Errorf("error listing the threads of process %d: %w", pid, err)
	}

	for _, task := range tasks {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/schedstat")
		if err != nil {
			continue
		}

		fields := strings.Fields(string(data))
		if len(fields) < 2 {
			continue
		}

		run, _ := strconv.ParseInt(fields[0], 10, 64)
		wait, _ := strconv.ParseInt(fields[1], 10, 64)
		onCPU += time.Duration(run)
		waiting += time.Duration(wait)
	}

	return onCPU, waiting, nil
}

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ),
// 100 on Linux.
const clockTicks = 100

// TreeCPU returns the CPU time, user plus system, used so far by process
// pid, by its children that exited and were waited for, and by its
// children that are still running, such as PostgreSQL's backends under
// the postmaster.
func TreeCPU(pid int) (time.Duration, error) {
	fields, err := procStat(pid)
	if err != nil {
		return 0, err
	}

	// Fields after the command name, from field 3 (state) on: utime,
	// stime, cutime and cstime are fields 14 to 17 of proc(5).
	ticks := sumFields(fields, 11, 12, 13, 14)

	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("error listing processes: %w", err)
	}

	parent := strconv.Itoa(pid)
	for _, entry := range entries {
		child, err := strconv.Atoi(entry.Name())
		if err != nil || child == pid {
			continue
		}

		fields, err := procStat(child)
		if err != nil || len(fields) < 13 || fields[1] != parent {
			continue
		}

		ticks += sumFields(fields, 11, 12)
	}

	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// procStat returns the fields of /proc/PID/stat that follow the command
// name, which may contain spaces. fields[0] is the state and fields[1] the
// parent's pid.
func procStat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, fmt.Errorf("error reading the statistics of process %d: %w", pid, err)
	}

	end := strings.LastIndexByte(string(data), ')')
	if end < 0 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat: %.80s", pid, data)
	}

	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 15 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat: %.80s", pid, data)
	}

	return fields, nil
}

func sumFields(fields []string, indexes ...int) int64 {
	var total int64
	for _, i := range indexes {
		n, _ := strconv.ParseInt(fields[i], 10, 64)
		total += n
	}

	return total
}

// SelfCPU returns the CPU time, user plus system, that this process and all
// its threads have used so far (getrusage RUSAGE_SELF).
func SelfCPU() (time.Duration, error) {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0, fmt.Errorf("error reading the CPU time of this process: %w", err)
	}

	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()), nil
}
