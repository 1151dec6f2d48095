package testenv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

const (
	// logTailBytes is how much of a server log an error message includes.
	logTailBytes = 2048

	pollInterval = 50 * time.Millisecond
)

// errPortInUse marks a server that exited because its port was taken.
var errPortInUse = errors.New("port already in use")

// process is a server started as a child of the test binary.
type process struct {
	name       string
	cmd        *exec.Cmd
	stopSignal syscall.Signal
	logPath    string
	logOffset  int64
	done       chan struct{}
	waitErr    error
}

// startProcess starts cmd with stdout and stderr appended to logPath.
func startProcess(name string, cmd *exec.Cmd, logPath string, stopSignal syscall.Signal) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("error opening log file %q: %w", logPath, err)
	}
	defer logFile.Close()

	info, err := logFile.Stat()
	if err != nil {
		return nil, fmt.Errorf("error reading size of %q: %w", logPath, err)
	}

	cmd.Stdout = logFile
	cmd.Stderr = logFile

	err = cmd.Start()
	if err != nil {
		return nil, fmt.Errorf("error starting %s %q: %w", name, cmd.Path, err)
	}

	proc := &process{
		name:       name,
		cmd:        cmd,
		stopSignal: stopSignal,
		logPath:    logPath,
		logOffset:  info.Size(),
		done:       make(chan struct{}),
	}

	go proc.wait()

	return proc, nil
}

func (p *process) wait() {
	p.waitErr = p.cmd.Wait()
	close(p.done)
}

func (p *process) pid() int {
	return p.cmd.Process.Pid
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends the stop signal, waits up to timeout and then sends SIGKILL.
// It returns an error if SIGKILL was needed.
func (p *process) stop(timeout time.Duration) error {
	if p.exited() {
		return nil
	}

	err := p.cmd.Process.Signal(p.stopSignal)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("error sending %s to %s (pid %d): %w", p.stopSignal, p.name, p.pid(), err)
	}

	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}

	err = p.cmd.Process.Kill()
	<-p.done

	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("error killing %s (pid %d): %w", p.name, p.pid(), err)
	}

	return fmt.Errorf("%s (pid %d) did not exit within %s after %s and was killed", p.name, p.pid(), timeout, p.stopSignal)
}

// exitError describes a server that exited before it accepted connections.
// It wraps errPortInUse when the log shows that the port was taken.
func (p *process) exitError() error {
	output := p.output()

	err := fmt.Errorf("%s (pid %d) exited during startup (%w); log %q ends with:\n%s",
		p.name, p.pid(), p.waitErr, p.logPath, output)
	if strings.Contains(output, "Address already in use") {
		return errors.Join(errPortInUse, err)
	}

	return err
}

// output returns the end of what this process wrote to its log.
func (p *process) output() string {
	return readTail(p.logPath, p.logOffset)
}

// readTail returns up to logTailBytes from the end of the file at path,
// starting no earlier than offset.
func readTail(path string, offset int64) string {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(error opening log: %v)", err)
	}
	defer file.Close()

	info, err := file.Stat()
	if err != nil {
		return fmt.Sprintf("(error reading log size: %v)", err)
	}

	offset = max(offset, info.Size()-logTailBytes)

	data, err := io.ReadAll(io.NewSectionReader(file, offset, info.Size()-offset))
	if err != nil {
		return fmt.Sprintf("(error reading log: %v)", err)
	}

	return strings.TrimRight(string(data), "\n")
}

// freePort returns a TCP port on 127.0.0.1 that was free at the time of the
// call. Another process may take it before the server binds it.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("error finding a free port on 127.0.0.1: %w", err)
	}
	defer listener.Close()

	addr, ok := listener.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("unexpected listener address type %T", listener.Addr())
	}

	return addr.Port, nil
}

// childAttributes returns process attributes for a server. The server gets
// its own process group, so a Ctrl-C in the terminal reaches only the test
// binary, which then stops the servers itself. The kernel sends
// parentDeathSignal to the server if the test binary dies first.
//
// NOTE: Linux sends the parent-death signal when the thread that started the
// child exits. The Go runtime ends a thread only when a goroutine exits while
// locked with runtime.LockOSThread, so tests that do this may stop servers.
func childAttributes(credential *syscall.Credential, parentDeathSignal syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Credential: credential,
		Setpgid:    true,
		Pdeathsig:  parentDeathSignal,
	}
}
