package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// rulesURLDefault is the API the rules command talks to when neither
// --url nor EVENTPULSE_URL is set.
const rulesURLDefault = "http://127.0.0.1:8080"

func newRulesCommand() *cobra.Command {
	rules := &cobra.Command{
		Use:   "rules",
		Short: "Manage detection rules through the API",
	}

	rules.AddCommand(newRulesApplyCommand())

	return rules
}

type rulesApplyOptions struct {
	url     string
	apiKey  string
	ifEmpty bool
	wait    time.Duration
}

func newRulesApplyCommand() *cobra.Command {
	var opts rulesApplyOptions

	cmd := &cobra.Command{
		Use:   "apply [--url URL] [--if-empty] [--wait DURATION] FILE...",
		Short: "Create the rules described by JSON files",
		Long: `Sends each FILE, one JSON rule body per file, to POST /api/v1/rules and
prints the id of each rule created. Stops at the first file the API rejects.

With --if-empty, nothing is sent when the API already has rules, so a fresh
installation gets the example rules once. With --wait, the command first
waits up to that long for /readyz to answer 200.

The URL defaults to $EVENTPULSE_URL, then http://127.0.0.1:8080. Once API
keys exist, give a key with the admin scope in $EVENTPULSE_API_KEY. The
command sends it as a bearer token and never prints it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.url = strings.TrimRight(cmp.Or(opts.url, os.Getenv("EVENTPULSE_URL"), rulesURLDefault), "/")
			opts.apiKey = os.Getenv("EVENTPULSE_API_KEY")

			return applyRules(cmd.Context(), cmd.OutOrStdout(), opts, files)
		},
	}

	cmd.Flags().StringVar(&opts.url, "url", "", "base URL of the EventPulse API")
	cmd.Flags().BoolVar(&opts.ifEmpty, "if-empty", false, "send nothing when the API already has rules")
	cmd.Flags().DurationVar(&opts.wait, "wait", 0, "how long to wait for the API to become ready, such as 30s")

	return cmd
}

func applyRules(ctx context.Context, out io.Writer, opts rulesApplyOptions, files []string) error {
	client := &http.Client{Timeout: 30 * time.Second}

	if opts.wait > 0 {
		if err := waitReady(ctx, client, opts.url, opts.wait); err != nil {
			return err
		}
	}

	if opts.ifEmpty {
		n, err := countRules(ctx, client, opts.url, opts.apiKey)
		if err != nil {
			return err
		}

		if n > 0 {
			fmt.Fprintf(out, "%d rules exist; nothing applied\n", n)
			return nil
		}
	}

	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("error reading rule file: %w", err)
		}

		id, err := postRule(ctx, client, opts.url, opts.apiKey, body)
		if err != nil {
			return fmt.Errorf("error applying %s: %w", file, err)
		}

		fmt.Fprintf(out, "%s: created rule %s\n", file, id)
	}

	return nil
}

func waitReady(ctx context.Context, client *http.Client, url string, wait time.Duration) error {
	deadline := time.Now().Add(wait)

	for {
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("error building readiness request: %w", err)
		}

		response, err := client.Do(request)
		if err == nil {
			_ = response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("API at %s not ready after %s", url, wait)
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func countRules(ctx context.Context, client *http.Client, url, apiKey string) (int, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/rules", nil)
	if err != nil {
		return 0, fmt.Errorf("error building rules request: %w", err)
	}
	setAPIKey(request, apiKey)

	response, err := client.Do(request)
	if err != nil {
		return 0, fmt.Errorf("error listing rules at %s: %w", url, err)
	}
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	if err != nil {
		return 0, fmt.Errorf("error listing rules at %s: %w", url, err)
	}

	if response.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("error listing rules at %s: status %d: %s", url, response.StatusCode, data)
	}

	var rules []json.RawMessage
	if err := json.Unmarshal(data, &rules); err != nil {
		return 0, fmt.Errorf("error decoding the rule list: %w", err)
	}

	return len(rules), nil
}

func postRule(ctx context.Context, client *http.Client, url, apiKey string, body []byte) (string, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/rules", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("error building request: %w", err)
	}
	request.Header.Set("Content-Type", "application/json")
	setAPIKey(request, apiKey)

	response, err := client.Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()

	data, err := io.ReadAll(response.Body)
	if err != nil {
		return "", err
	}

	if response.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d: %s", response.StatusCode, bytes.TrimSpace(data))
	}

	var rule struct {
		RuleID string `json:"rule_id"`
	}
	if err := json.Unmarshal(data, &rule); err != nil {
		return "", fmt.Errorf("error decoding the created rule: %w", err)
	}

	return rule.RuleID, nil
}

// setAPIKey adds apiKey to request as a bearer token, unless it is empty.
func setAPIKey(request *http.Request, apiKey string) {
	if apiKey != "" {
		request.Header.Set("Authorization", "Bearer "+apiKey)
	}
}
