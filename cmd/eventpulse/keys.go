package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/eventpulse/eventpulse/internal/auth"
	"github.com/eventpulse/eventpulse/internal/database"
)

// cliActor is the actor recorded for key changes made with this command.
const cliActor = "cli"

func newKeysCommand() *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke API keys",
		Long: `Manages API keys directly in the event log (DATABASE_URL). Keys carry
scopes: ingest (send events), read (every read, including the list of dead
letters with their payloads) and admin (rule changes, replays, requeuing
and deleting dead letters, and everything the other scopes allow). Until
the first key is created, the API serves loopback clients without a key.
Once a key has been created, every request needs a valid key, even after
every key has been revoked.`,
	}

	keys.AddCommand(newKeysCreateCommand(), newKeysListCommand(), newKeysRevokeCommand())

	return keys
}

func newKeysCreateCommand() *cobra.Command {
	var name string
	var scopeNames []string

	cmd := &cobra.Command{
		Use:   "create --name NAME --scope SCOPE[,SCOPE]",
		Short: "Create a key and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var scopes []auth.Scope
			for _, scopeName := range scopeNames {
				scope, err := auth.ParseScope(scopeName)
				if err != nil {
					return err
				}
				scopes = append(scopes, scope)
			}

			cfg, _, err := setup()
			if err != nil {
				return err
			}

			pool, err := database.Open(cmd.Context(), cfg.DatabaseURL, 4)
			if err != nil {
				return err
			}
			defer pool.Close()

			id, key, err := auth.CreateKey(cmd.Context(), pool, name, scopes, cliActor)
			if err != nil {
				return err
			}

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "key id: %s\n", id)
			fmt.Fprintf(out, "key:    %s\n", key)
			fmt.Fprintln(out, "Store the key now: it is not shown again.")

			return nil
		},
	}

	cmd.Flags().StringVar(&name, "name", "", "a name that tells people what the key is for (required)")
	cmd.Flags().StringSliceVar(&scopeNames, "scope", nil, "ingest, read or admin; repeat or separate with commas (required)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("scope")

	return cmd
}

func newKeysListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List keys without their secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := setup()
			if err != nil {
				return err
			}

			pool, err := database.Open(cmd.Context(), cfg.DatabaseURL, 4)
			if err != nil {
				return err
			}
			defer pool.Close()

			keys, err := auth.ListKeys(cmd.Context(), pool)
			if err != nil {
				return err
			}

			table := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(table, "KEY ID\tNAME\tSCOPES\tCREATED\tREVOKED")
			for _, key := range keys {
				revoked := "-"
				if !key.RevokedAt.IsZero() {
					revoked = key.RevokedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\n", key.KeyID, key.Name,
					strings.Join(key.Scopes, ","), key.CreatedAt.UTC().Format(time.RFC3339), revoked)
			}

			return table.Flush()
		},
	}
}

func newKeysRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key; it stops working within seconds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("invalid key id %q: %w", args[0], err)
			}

			cfg, _, err := setup()
			if err != nil {
				return err
			}

			pool, err := database.Open(cmd.Context(), cfg.DatabaseURL, 4)
			if err != nil {
				return err
			}
			defer pool.Close()

			if err := auth.RevokeKey(cmd.Context(), pool, id, cliActor); err != nil {
				return err
			}

			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", id)

			return nil
		},
	}
}
