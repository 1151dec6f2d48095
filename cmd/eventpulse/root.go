package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/eventpulse/eventpulse/internal/config"
	"github.com/eventpulse/eventpulse/internal/logging"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "eventpulse",
		Short: "Event ingestion and anomaly alerting",
		Long: `EventPulse accepts application events over HTTP, keeps them in an
append-only log in PostgreSQL, and detects anomalies with user-managed rules.

Configuration comes from environment variables; see README.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}

	root.AddCommand(
		newRunCommand(),
		newAPICommand(),
		newWorkerCommand(),
		newMigrateCommand(),
		newIngestCommand(),
		newKeysCommand(),
		newRulesCommand(),
		newHealthcheckCommand(),
		newReplayCommand(),
	)

	return root
}

// setup reads the configuration and builds the logger.
func setup() (config.Config, *slog.Logger, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return cfg, nil, err
	}

	level, _ := cfg.SlogLevel()

	return cfg, logging.New(os.Stderr, level), nil
}
