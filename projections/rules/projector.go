// Package rules builds the rules read table: the current state and version
// of every rule, from the rule events in the log.
package rules

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eventpulse/eventpulse/events"
	"github.com/eventpulse/eventpulse/internal/projection"
)

// Name is the projector's consumer group. Renaming it creates a fresh
// group, which replays the whole log into the rules table.
const Name = "projection.rules"

// Table is the read table the projector writes by default.
const Table = "rules"

// Projector keeps one row per rule. A deleted rule keeps its row with
// deleted_at set, so records at or below its version are still skipped.
type Projector struct {
	// Table is the table written: Table unless a replay builds a copy.
	Table string
}

var _ projection.Rebuildable = Projector{}

// Tables implements projection.Rebuildable.
func (Projector) Tables() []string { return []string{Table} }

// WholeLogOnly implements projection.WholeLogOnly: a rule's later versions
// cannot be applied without its earlier ones.
func (Projector) WholeLogOnly() bool { return true }

// WithTables implements projection.Rebuildable.
func (Projector) WithTables(tables map[string]string) projection.Projector {
	return Projector{Table: tables[Table]}
}

// table returns the quoted name of the table written.
func (p Projector) table() string {
	return pgx.Identifier{cmp.Or(p.Table, Table)}.Sanitize()
}

// Name implements projection.Projector.
func (Projector) Name() string { return Name }

// Handles implements projection.Projector.
func (Projector) Handles(eventName string) bool {
	switch eventName {
	case events.RuleCreatedName, events.RuleReplacedName, events.RulePatchedName, events.RuleDeletedName:
		return true
	default:
		return false
	}
}

// GapError reports a rule record whose version is not the one after the
// version the table holds, which means records are missing or out of order.
type GapError struct {
	Projection string
	Event      string
	RuleID     uuid.UUID
	Applied    int
	Version    int
}

func (e *GapError) Error() string {
	return fmt.Sprintf("projection %s: %s of rule %s has version %d but the table is at version %d",
		e.Projection, e.Event, e.RuleID, e.Version, e.Applied)
}

// Apply writes the effect of one rule event. A record at or below the
// version already applied is skipped; a record that skips a version is a
// *GapError.
func (p Projector) Apply(ctx context.Context, tx pgx.Tx, event events.Event, meta projection.Meta) error {
	ruleID, version, err := ruleVersion(event)
	if err != nil {
		return err
	}

	applied, err := p.appliedVersion(ctx, tx, ruleID)
	if err != nil {
		return err
	}

	if version <= applied {
		return nil
	}

	if version != applied+1 {
		return &GapError{Projection: Name, Event: event.EventName(), RuleID: ruleID, Applied: applied, Version: version}
	}

	switch e := event.(type) {
	case events.RuleCreated:
		return p.insert(ctx, tx, e, meta)
	case events.RuleReplaced:
		return p.update(ctx, tx, e.RuleID, e.Version, e.Spec, meta)
	case events.RulePatched:
		return p.update(ctx, tx, e.RuleID, e.Version, e.Spec, meta)
	case events.RuleDeleted:
		return p.markDeleted(ctx, tx, e, meta)
	}

	return nil
}

func ruleVersion(event events.Event) (uuid.UUID, int, error) {
	switch e := event.(type) {
	case events.RuleCreated:
		return e.RuleID, e.Version, nil
	case events.RuleReplaced:
		return e.RuleID, e.Version, nil
	case events.RulePatched:
		return e.RuleID, e.Version, nil
	case events.RuleDeleted:
		return e.RuleID, e.Version, nil
	default:
		return uuid.Nil, 0, fmt.Errorf("projection %s: unexpected event %T", Name, event)
	}
}

// appliedVersion returns the rule's version in the table, 0 when absent,
// and locks its row for the rest of the transaction.
func (p Projector) appliedVersion(ctx context.Context, tx pgx.Tx, ruleID uuid.UUID) (int, error) {
	var version int

	err := tx.QueryRow(ctx, `SELECT version FROM `+p.table()+` WHERE rule_id = $1 FOR UPDATE`, ruleID).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("error reading version of rule %q: %w", ruleID, err)
	}

	return version, nil
}

func (p Projector) insert(ctx context.Context, tx pgx.Tx, e events.RuleCreated, meta projection.Meta) error {
	condition, err := json.Marshal(e.Spec.Condition)
	if err != nil {
		return fmt.Errorf("error encoding condition of rule %q: %w", e.RuleID, err)
	}

	_, err = tx.Exec(ctx, `
		INSERT INTO `+p.table()+` (rule_id, version, name, enabled, severity, window_seconds, cooldown_seconds,
			allowed_lateness_seconds, condition, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		e.RuleID, e.Version, e.Spec.Name, e.Spec.Enabled, e.Spec.Severity, e.Spec.WindowSeconds,
		e.Spec.CooldownSeconds, e.Spec.AllowedLatenessSeconds, condition, meta.RecordedAt)
	if err != nil {
		return fmt.Errorf("error inserting rule %q: %w", e.RuleID, err)
	}

	return nil
}

func (p Projector) update(ctx context.Context, tx pgx.Tx, ruleID uuid.UUID, version int, spec events.RuleSpec, meta projection.Meta) error {
	condition, err := json.Marshal(spec.Condition)
	if err != nil {
		return fmt.Errorf("error encoding condition of rule %q: %w", ruleID, err)
	}

	_, err = tx.Exec(ctx, `
		UPDATE `+p.table()+` SET version = $2, name = $3, enabled = $4, severity = $5, window_seconds = $6,
			cooldown_seconds = $7, allowed_lateness_seconds = $8, condition = $9, updated_at = $10
		WHERE rule_id = $1`,
		ruleID, version, spec.Name, spec.Enabled, spec.Severity, spec.WindowSeconds,
		spec.CooldownSeconds, spec.AllowedLatenessSeconds, condition, meta.RecordedAt)
	if err != nil {
		return fmt.Errorf("error updating rule %q to version %d: %w", ruleID, version, err)
	}

	return nil
}

func (p Projector) markDeleted(ctx context.Context, tx pgx.Tx, e events.RuleDeleted, meta projection.Meta) error {
	_, err := tx.Exec(ctx, `UPDATE `+p.table()+` SET version = $2, updated_at = $3, deleted_at = $3 WHERE rule_id = $1`,
		e.RuleID, e.Version, meta.RecordedAt)
	if err != nil {
		return fmt.Errorf("error marking rule %q deleted at version %d: %w", e.RuleID, e.Version, err)
	}

	return nil
}
