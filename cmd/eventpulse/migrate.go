package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/eventpulse/eventpulse/internal/database"
)

func newMigrateCommand() *cobra.Command {
	var downTo int64
	var down bool

	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations embedded in the binary",
		Long: `Applies every pending migration. With --down, rolls back to the
version given by --to, which --down requires (--to 0 removes every table).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			toSet := cmd.Flags().Changed("to")
			switch {
			case down && !toSet:
				return errors.New("migrate --down needs --to VERSION, the version to roll back to; " +
					"--to 0 removes every table and its data")
			case !down && toSet:
				return errors.New("migrate --to works only with --down; without it, migrate applies every pending migration")
			case down && downTo < 0:
				return fmt.Errorf("invalid --to %d: must be 0 or more", downTo)
			}

			cfg, logger, err := setup()
			if err != nil {
				return err
			}

			pool, err := database.Open(ctx, cfg.DatabaseURL, 4)
			if err != nil {
				return err
			}
			defer pool.Close()

			migrator, err := database.NewMigrator(pool)
			if err != nil {
				return err
			}
			defer func() { _ = migrator.Close() }()

			if down {
				err = migrator.DownTo(ctx, downTo, logger)
			} else {
				err = migrator.Up(ctx, logger)
			}
			if err != nil {
				return err
			}

			version, err := migrator.Version(ctx)
			if err != nil {
				return err
			}

			fmt.Fprintf(cmd.OutOrStdout(), "database at migration version %d\n", version)

			return nil
		},
	}

	cmd.Flags().BoolVar(&down, "down", false, "roll back instead of applying")
	cmd.Flags().Int64Var(&downTo, "to", 0, "with --down, the version to roll back to (required with --down)")

	return cmd
}
