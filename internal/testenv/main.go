package testenv

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// mainStartTimeout bounds Start in Main, including initdb.
const mainStartTimeout = 2 * time.Minute

// Main runs the tests of a package against one Env, for use in TestMain:
//
//	func TestMain(m *testing.M) {
//		testenv.Main(m, func(env *testenv.Env) error {
//			testEnv = env
//			return nil
//		})
//	}
//
// It starts the Env, calls setup if it is not nil, runs the tests, closes the
// Env and exits with the test result. It exits with status 1 if a server
// binary is missing, because such a run would test nothing. After failed
// tests it prints the end of the server logs. With -v it prints server starts
// and stops.
func Main(m *testing.M, setup func(env *Env) error) {
	os.Exit(runMain(m, setup))
}

func runMain(m *testing.M, setup func(env *Env) error) int {
	flag.Parse()

	env, err := startForMain()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)

		return 1
	}

	stopSignalHandler := closeOnSignal(env)

	code := runTests(m, env, setup)

	stopSignalHandler()

	err = env.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: error stopping servers: %v\n", err)

		code = max(code, 1)
	}

	return code
}

func startForMain() (*Env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mainStartTimeout)
	defer cancel()

	opts := Options{}
	if testing.Verbose() {
		opts.Logf = log.New(os.Stderr, "", log.LstdFlags).Printf
	}

	return Start(ctx, opts)
}

func runTests(m *testing.M, env *Env, setup func(env *Env) error) int {
	if setup != nil {
		err := setup(env)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testenv: error in setup: %v\n", err)

			return 1
		}
	}

	code := m.Run()
	if code != 0 {
		env.printLogs()
	}

	return code
}

// printLogs prints the end of each server log to stderr.
func (e *Env) printLogs() {
	for _, name := range []string{"postgres", "redis"} {
		path := e.logPath(name)
		fmt.Fprintf(os.Stderr, "testenv: %s ends with:\n%s\n", path, readTail(path, 0))
	}
}

// closeOnSignal closes env and exits on SIGINT or SIGTERM, so that an
// interrupted run leaves no servers or temporary files behind. It returns a
// function that removes the handler.
//
// NOTE: an Env that a test starts itself is not closed here. Its servers
// receive the parent-death signal, but its temporary directory remains.
func closeOnSignal(env *Env) func() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)

	done := make(chan struct{})

	go func() {
		select {
		case sig := <-signals:
			fmt.Fprintf(os.Stderr, "testenv: received %s, stopping servers\n", sig)

			err := env.Close()
			if err != nil {
				fmt.Fprintf(os.Stderr, "testenv: error stopping servers: %v\n", err)
			}

			os.Exit(1)
		case <-done:
		}
	}()

	return func() {
		signal.Stop(signals)
		close(done)
	}
}
