package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventpulse/eventpulse/internal/config"
)

// healthcheckTimeoutDefault bounds the whole health request.
const healthcheckTimeoutDefault = 3 * time.Second

func newHealthcheckCommand() *cobra.Command {
	var timeout time.Duration
	var worker bool

	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Check that the API on EVENTPULSE_HTTP_ADDR responds to /healthz",
		Long: `Sends GET /healthz to the API listening on $EVENTPULSE_HTTP_ADDR and exits
with status 0 on 200 OK, 1 otherwise. Container health checks use it because
minimal images have no curl. An address that listens on every interface
(0.0.0.0 or [::]) is checked on loopback.

With --worker it checks the /healthz that eventpulse worker serves on
$EVENTPULSE_WORKER_ADDR instead, and fails when that variable is not set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.FromEnv()
			if err != nil {
				return err
			}

			addr := cfg.HTTPAddr
			if worker {
				if cfg.WorkerHTTPAddr == "" {
					return errors.New("healthcheck --worker needs EVENTPULSE_WORKER_ADDR, the address where eventpulse worker serves /healthz")
				}
				addr = cfg.WorkerHTTPAddr
			}

			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()

			return checkHealth(ctx, healthURL(addr))
		},
	}

	cmd.Flags().DurationVar(&timeout, "timeout", healthcheckTimeoutDefault, "how long to wait for the answer")
	cmd.Flags().BoolVar(&worker, "worker", false, "check eventpulse worker on EVENTPULSE_WORKER_ADDR instead of the API")

	return cmd
}

// healthURL returns the /healthz URL of an API listening on addr.
func healthURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/healthz"
	}

	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}

	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

func checkHealth(ctx context.Context, url string) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("error building health request for %q: %w", url, err)
	}

	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return fmt.Errorf("health check of %q failed: %w", url, err)
	}
	defer response.Body.Close()

	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("health check of %q failed: status %s", url, response.Status)
	}

	return nil
}
