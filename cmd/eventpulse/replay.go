package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/eventpulse/eventpulse/internal/app"
	"github.com/eventpulse/eventpulse/internal/database"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// replayPlainInterval is the minimum time between plain progress lines.
const replayPlainInterval = 2 * time.Second

func newReplayCommand() *cobra.Command {
	var from int64
	var batchSize int

	cmd := &cobra.Command{
		Use:   "replay NAME [--from POSITION]",
		Short: "Rebuild one projection from the event log",
		Long: `Rebuilds the tables of projection NAME from the event log into new
tables while the live ones keep serving, then swaps them in and moves the
projector's offset in one transaction. Replays never notify.

` + replayableHelp() + `

Progress is stored after each batch: interrupted with Ctrl-C, the replay
resumes where it stopped when the command runs again. With --from, only the
records whose offset is above POSITION are applied, to empty tables; a
--from that differs from the interrupted replay's starts over.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()

			if from < 0 {
				return fmt.Errorf("invalid --from %d: must be a log offset of 0 or more", from)
			}

			cfg, logger, err := setup()
			if err != nil {
				return err
			}

			projector, err := app.Catalog(logger).Rebuildable(args[0])
			if err != nil {
				return err
			}

			pool, err := database.Open(ctx, cfg.DatabaseURL, 4)
			if err != nil {
				return err
			}
			defer pool.Close()

			config := projection.ReplayConfig{Pool: pool, Projector: projector, BatchSize: batchSize, Logger: logger}
			if cmd.Flags().Changed("from") {
				config.From = &from
			}

			display := newReplayDisplay(cmd.ErrOrStderr())
			config.Progress = display.show

			final, err := projection.Replay(ctx, config)
			display.close()

			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return fmt.Errorf("replay of %s interrupted at offset %d; run the command again to resume",
					final.Projection, final.Position.Offset)
			}
			if err != nil {
				return err
			}

			fmt.Fprintf(cmd.OutOrStdout(), "replayed %s: %d records read, %d applied, offset %d\n",
				final.Projection, final.RecordsRead, final.RecordsApplied, final.Position.Offset)

			return nil
		},
	}

	cmd.Flags().Int64Var(&from, "from", 0, "replay only the log records whose offset is above POSITION")
	cmd.Flags().IntVar(&batchSize, "batch-size", projection.ReplayBatchSizeDefault, "log records applied per transaction")

	return cmd
}

// replayableHelp returns the help paragraph that lists the projections a
// replay can rebuild and those it cannot.
func replayableHelp() string {
	catalog := app.Catalog(slog.New(slog.DiscardHandler))
	text := "NAME is one of " + strings.Join(catalog.RebuildableNames(), ", ") + "."
	for _, sentence := range catalog.Unreplayable() {
		text += " The " + sentence + "."
	}

	return text
}

// replayDisplay shows replay progress as a bar on a terminal and as plain
// lines elsewhere.
type replayDisplay struct {
	output    io.Writer
	bar       *progressbar.ProgressBar
	lastPlain time.Time
}

func newReplayDisplay(output io.Writer) *replayDisplay {
	display := &replayDisplay{output: output}

	if file, ok := output.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		display.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(output),
			progressbar.OptionSetDescription("replay"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
		)
	}

	return display
}

func (d *replayDisplay) show(progress projection.ReplayProgress) {
	if d.bar != nil {
		d.bar.ChangeMax64(max(progress.RecordsTotal, 1))
		d.bar.Describe(fmt.Sprintf("replay %s: offset %d, %d applied",
			progress.Projection, progress.Position.Offset, progress.RecordsApplied))
		_ = d.bar.Set64(progress.RecordsRead)

		return
	}

	final := progress.Status != projection.ReplayRunning
	if !final && time.Since(d.lastPlain) < replayPlainInterval {
		return
	}

	d.lastPlain = time.Now()
	fmt.Fprintf(d.output, "replay %s: %s, offset %d, %d/%d records read, %d applied, %.0f records/s, %s left\n",
		progress.Projection, progress.Status, progress.Position.Offset, progress.RecordsRead,
		progress.RecordsTotal, progress.RecordsApplied, progress.Rate, progress.Remaining.Round(time.Second))
}

func (d *replayDisplay) close() {
	if d.bar != nil {
		_ = d.bar.Exit()
		fmt.Fprintln(d.output)
	}
}
