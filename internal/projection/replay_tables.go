package projection

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Suffixes of the tables a replay works with: the copy it builds and the
// name the live table takes for the moment of the swap.
const (
	replaySuffix = "__replay"
	oldSuffix    = "__old"
)

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// copyNames maps each table to the name of its replay copy.
func copyNames(tables []string) map[string]string {
	names := make(map[string]string, len(tables))
	for _, table := range tables {
		names[table] = table + replaySuffix
	}

	return names
}

// copiesExist reports whether every copy of tables exists.
func copiesExist(ctx context.Context, tx pgx.Tx, tables []string) (bool, error) {
	for _, table := range tables {
		var exists bool

		err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, quote(table+replaySuffix)).Scan(&exists)
		if err != nil {
			return false, fmt.Errorf("error looking up table %q: %w", table+replaySuffix, err)
		}

		if !exists {
			return false, nil
		}
	}

	return true, nil
}

// createCopies replaces any copy of tables with an empty one that has the
// live table's columns, defaults and constraints, and the indexes of its
// constraints. The other indexes are built once the copy is filled (see
// createMissingIndexes), because one build is cheaper than maintaining them
// row by row.
func createCopies(ctx context.Context, tx pgx.Tx, tables []string) error {
	for _, table := range tables {
		copyName := quote(table + replaySuffix)

		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+copyName); err != nil {
			return fmt.Errorf("error dropping table %s: %w", copyName, err)
		}

		_, err := tx.Exec(ctx, `CREATE TABLE `+copyName+` (LIKE `+quote(table)+` INCLUDING ALL)`)
		if err != nil {
			return fmt.Errorf("error creating table %s: %w", copyName, err)
		}

		if err := copyStorageParameters(ctx, tx, table, copyName); err != nil {
			return err
		}

		if err := dropPlainIndexes(ctx, tx, table+replaySuffix); err != nil {
			return err
		}
	}

	return nil
}

// copyStorageParameters gives the copy the storage parameters of table,
// such as the fillfactor of metric_rollups, which LIKE does not copy. The
// copy replaces the live table, so it must keep them.
func copyStorageParameters(ctx context.Context, tx pgx.Tx, table, copyName string) error {
	var options []string

	err := tx.QueryRow(ctx, `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`,
		quote(table)).Scan(&options)
	if err != nil {
		return fmt.Errorf("error reading the storage parameters of %q: %w", table, err)
	}

	if len(options) == 0 {
		return nil
	}

	// reloptions contains "name=value" entries that PostgreSQL has validated,
	// so they can be written back as they are.
	_, err = tx.Exec(ctx, `ALTER TABLE `+copyName+` SET (`+strings.Join(options, ", ")+`)`)
	if err != nil {
		return fmt.Errorf("error setting storage parameters %v on %s: %w", options, copyName, err)
	}

	return nil
}

// dropPlainIndexes drops the indexes of table that back no constraint.
func dropPlainIndexes(ctx context.Context, tx pgx.Tx, table string) error {
	rows, err := tx.Query(ctx, `
		SELECT c.relname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`, quote(table))
	if err != nil {
		return fmt.Errorf("error listing indexes of %q: %w", table, err)
	}

	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("error listing indexes of %q: %w", table, err)
	}

	for _, name := range names {
		if _, err := tx.Exec(ctx, `DROP INDEX `+quote(name)); err != nil {
			return fmt.Errorf("error dropping index %q: %w", name, err)
		}
	}

	return nil
}

// createMissingIndexes builds on each copy the indexes of its live table
// that the copy lacks.
func createMissingIndexes(ctx context.Context, tx pgx.Tx, tables []string) error {
	for _, table := range tables {
		live, err := indexesByDefinition(ctx, tx, table)
		if err != nil {
			return err
		}

		copied, err := indexesByDefinition(ctx, tx, table+replaySuffix)
		if err != nil {
			return err
		}

		for key, names := range live {
			for range len(names) - len(copied[key]) {
				if err := createIndexLike(ctx, tx, table+replaySuffix, key); err != nil {
					return err
				}
			}
		}
	}

	return nil
}

// createIndexLike creates an index on table from a key of
// indexesByDefinition, letting PostgreSQL choose its name.
func createIndexLike(ctx context.Context, tx pgx.Tx, table string, key indexKey) error {
	unique := ""
	if key.unique {
		unique = "UNIQUE "
	}

	statement := `CREATE ` + unique + `INDEX ON ` + quote(table) + ` USING ` + key.definition
	if _, err := tx.Exec(ctx, statement); err != nil {
		return fmt.Errorf("error creating an index on %q (%s): %w", table, key.definition, err)
	}

	return nil
}

// swapTables puts each copy in place of its live table within tx: the live
// table is renamed away and dropped, the copy takes its name, and the
// copy's indexes and owned sequences take the live table's names, so a
// second replay finds the same schema as the first.
func swapTables(ctx context.Context, tx pgx.Tx, tables []string) error {
	for _, table := range tables {
		if err := swapTable(ctx, tx, table); err != nil {
			return err
		}
	}

	return nil
}

func swapTable(ctx context.Context, tx pgx.Tx, table string) error {
	oldName := table + oldSuffix

	statements := []string{
		`ALTER TABLE ` + quote(table) + ` RENAME TO ` + quote(oldName),
		`ALTER TABLE ` + quote(table+replaySuffix) + ` RENAME TO ` + quote(table),
	}
	for _, statement := range statements {
		if _, err := tx.Exec(ctx, statement); err != nil {
			return fmt.Errorf("error swapping table %q: %w", table, err)
		}
	}

	if err := moveOwnedSequences(ctx, tx, oldName, table); err != nil {
		return err
	}

	renames, err := indexRenames(ctx, tx, oldName, table)
	if err != nil {
		return err
	}

	if _, err := tx.Exec(ctx, `DROP TABLE `+quote(oldName)); err != nil {
		return fmt.Errorf("error dropping table %q: %w", oldName, err)
	}

	for from, to := range renames {
		if _, err := tx.Exec(ctx, `ALTER INDEX `+quote(from)+` RENAME TO `+quote(to)); err != nil {
			return fmt.Errorf("error renaming index %q to %q: %w", from, to, err)
		}
	}

	return nil
}

// moveOwnedSequences makes the sequences owned by columns of from owned by
// the same columns of to, so that dropping from keeps them: the copy's
// defaults call the same sequences.
func moveOwnedSequences(ctx context.Context, tx pgx.Tx, from, to string) error {
	rows, err := tx.Query(ctx, `
		SELECT s.oid::regclass::text, a.attname
		FROM pg_depend d
		JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
		JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
		WHERE d.refobjid = $1::regclass AND d.deptype = 'a'`, quote(from))
	if err != nil {
		return fmt.Errorf("error listing sequences of %q: %w", from, err)
	}

	type owned struct{ sequence, column string }
	sequences, err := pgx.CollectRows(rows, pgx.RowToStructByPos[owned])
	if err != nil {
		return fmt.Errorf("error listing sequences of %q: %w", from, err)
	}

	for _, s := range sequences {
		_, err := tx.Exec(ctx, `ALTER SEQUENCE `+s.sequence+` OWNED BY `+quote(to)+`.`+quote(s.column))
		if err != nil {
			return fmt.Errorf("error moving sequence %s to %q: %w", s.sequence, to, err)
		}
	}

	return nil
}

// indexRenames pairs each index of to with the index of from that has the
// same definition, and returns the renames that give to's indexes from's
// names.
func indexRenames(ctx context.Context, tx pgx.Tx, from, to string) (map[string]string, error) {
	fromIndexes, err := indexesByDefinition(ctx, tx, from)
	if err != nil {
		return nil, err
	}

	toIndexes, err := indexesByDefinition(ctx, tx, to)
	if err != nil {
		return nil, err
	}

	renames := make(map[string]string)
	for definition, names := range toIndexes {
		for i, name := range names {
			if i < len(fromIndexes[definition]) && fromIndexes[definition][i] != name {
				renames[name] = fromIndexes[definition][i]
			}
		}
	}

	return renames, nil
}

// indexKey is an index's definition without its name and table: the part
// of pg_get_indexdef after USING, such as "btree (source, "timestamp"
// DESC)".
type indexKey struct {
	unique     bool
	primary    bool
	definition string
}

// indexesByDefinition returns table's index names by indexKey.
func indexesByDefinition(ctx context.Context, tx pgx.Tx, table string) (map[indexKey][]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT c.relname, i.indisunique, i.indisprimary,
			regexp_replace(pg_get_indexdef(i.indexrelid), '^.*? USING ', '')
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass
		ORDER BY c.relname`, quote(table))
	if err != nil {
		return nil, fmt.Errorf("error listing indexes of %q: %w", table, err)
	}

	indexes := make(map[indexKey][]string)
	var name string
	var key indexKey

	_, err = pgx.ForEachRow(rows, []any{&name, &key.unique, &key.primary, &key.definition}, func() error {
		indexes[key] = append(indexes[key], name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error listing indexes of %q: %w", table, err)
	}

	return indexes, nil
}
