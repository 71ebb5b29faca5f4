package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema's migrations, NNNN_name.sql, applied in
// the order of their numbers. A migration, once released, never changes:
// a change to the schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one versioned step of the schema.
type migration struct {
	version int
	name    string // the file name
	sql     string
}

// migrations returns the embedded migrations in version order. It
// returns an error if a file name does not start with a positive number,
// or two files have the same number.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with a positive version number and '_'", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrations returns the schema's migrations as SQL files, for teams
// that apply migrations with their own tool instead of Migrate. The files
// sit at the root of the file system, named NNNN_name.sql (0001_initial.sql,
// 0002_inactive_index.sql, …): apply them in the order of their numbers,
// each exactly once, in the schema the store will use (the first of its
// search_path), and each in one transaction of its own, as Migrate does.
// A file holds several statements and none of them starts or ends a
// transaction, so wrap each file in BEGIN … COMMIT, or send it whole as
// one simple-protocol query, which PostgreSQL runs as one transaction. A
// released file never changes; a new version of the library may add
// files with higher numbers.
//
// Migrate records what it applied in the schema's claim_schema_migrations
// table (version integer, name text, applied_at timestamptz), and your
// tool records it in its own; the two do not know of each other, so a
// schema is migrated by one or the other, not both.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil { // only if the directory name were not valid
		panic(err)
	}
	return sub
}

// migrateLockClass is the first key of the advisory lock Migrate holds;
// the second is a hash of the schema's name.
const migrateLockClass = 0x636c6d6d // "clmm"

// migrationsTable is the table that records the applied migrations, in
// the store's schema; legacyMigrationsTable is the name older builds gave
// it, which collided with other tools' tables.
const (
	migrationsTable       = "claim_schema_migrations"
	legacyMigrationsTable = "schema_migrations"
)

// Migrate brings the schema up to date: it applies, in order, each
// embedded migration that the claim_schema_migrations table of the
// schema (the first existing schema of the search_path) does not list,
// each in a transaction of its own that also records it there. It creates
// claim_schema_migrations if needed. Running it again changes nothing.
//
// A schema migrated by an older build of the store has the table under
// the name schema_migrations: when the schema has no
// claim_schema_migrations but has a schema_migrations with exactly the
// store's columns (version, name, applied_at), Migrate renames it. A
// schema_migrations of any other shape (golang-migrate's, with version
// and dirty) belongs to another tool and is left alone.
//
// Migrate is safe to call from several processes at once, and behind a
// pooler in transaction mode: each of its transactions takes a
// transaction-level advisory lock (pg_advisory_xact_lock), keyed by the
// schema, before it reads what is applied, so one process applies a
// migration while the others wait for it and then find it applied. Versions in
// claim_schema_migrations that this build does not know (written by a
// newer build) are left alone. With WithLogger, it logs each migration it
// applies and the rename at level Info.
//
// It returns an error wrapping the cause if no schema of the search_path
// exists, the database cannot be reached, or a migration fails (that
// migration is rolled back; those before it stay applied).
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, math.MaxInt)
}

// migrate is Migrate, applying only the migrations up to version upTo
// (tests use it to leave a schema as an older build did).
func (s *Store) migrate(ctx context.Context, upTo int) (err error) {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres store: migrate: %w", err)
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres store: migrate: %w", err)
	}
	defer c.Release()
	conn := c.Conn()

	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres store: migrate: %w", err)
	}
	if schema == nil {
		return errors.New("postgres store: migrate: no schema of the search_path exists")
	}
	h := fnv.New32a()
	h.Write([]byte(*schema))
	key := int32(h.Sum32())
	table := pgx.Identifier{*schema, migrationsTable}.Sanitize()
	lock := func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, migrateLockClass, key); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := lock(tx); err != nil {
			return err
		}
		if err := s.renameLegacyTable(ctx, tx, *schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("create %s: %w", migrationsTable, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres store: migrate: %w", err)
	}
	applied := 0
	for {
		// One transaction a migration, each holding the lock from its
		// first statement to its end.
		var m *migration
		start := time.Now()
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			m = nil
			if err := lock(tx); err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, `SELECT version FROM `+table)
			done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
			if err != nil {
				return fmt.Errorf("read %s: %w", migrationsTable, err)
			}
			for i := range ms {
				if ms[i].version <= upTo && !slices.Contains(done, int32(ms[i].version)) {
					m = &ms[i]
					break
				}
			}
			if m == nil {
				return nil
			}
			// No arguments: the simple protocol, which runs the file's
			// statements one after another.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO `+table+` (version, name) VALUES ($1, $2)`, m.version, m.name)
			return err
		})
		if err != nil {
			attrs := []slog.Attr{slog.String("schema", *schema), slog.Any("error", err)}
			if m != nil {
				attrs = append(attrs, slog.Int("version", m.version), slog.String("name", m.name))
			}
			s.logger().LogAttrs(ctx, slog.LevelError, "postgres store: migration failed", attrs...)
			return fmt.Errorf("postgres store: migrate: %w", err)
		}
		if m == nil {
			break
		}
		applied++
		s.logger().LogAttrs(ctx, slog.LevelInfo, "postgres store: migration applied",
			slog.String("schema", *schema), slog.Int("version", m.version), slog.String("name", m.name),
			slog.Duration("took", time.Since(start)))
	}
	if applied == 0 {
		s.logger().LogAttrs(ctx, slog.LevelDebug, "postgres store: schema up to date", slog.String("schema", *schema))
	}
	return nil
}

// renameLegacyTable renames the schema's schema_migrations to
// claim_schema_migrations if the schema has no claim_schema_migrations and
// its schema_migrations has exactly the store's columns; a table of
// another tool stays as it is.
func (s *Store) renameLegacyTable(ctx context.Context, tx pgx.Tx, schema string) error {
	rows, _ := tx.Query(ctx, `SELECT table_name::text, column_name::text, data_type::text
		FROM information_schema.columns
		WHERE table_schema = $1 AND table_name IN ($2, $3)
		ORDER BY 1, 2`, schema, migrationsTable, legacyMigrationsTable)
	type column struct{ Table, Name, Type string }
	cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[column])
	if err != nil {
		return fmt.Errorf("inspect %s: %w", legacyMigrationsTable, err)
	}
	legacy := []column{
		{legacyMigrationsTable, "applied_at", "timestamp with time zone"},
		{legacyMigrationsTable, "name", "text"},
		{legacyMigrationsTable, "version", "integer"},
	}
	if !slices.Equal(cols, legacy) { // already renamed, a fresh schema, or another tool's table
		return nil
	}
	_, err = tx.Exec(ctx, `ALTER TABLE `+pgx.Identifier{schema, legacyMigrationsTable}.Sanitize()+
		` RENAME TO `+pgx.Identifier{migrationsTable}.Sanitize())
	if err == nil {
		_, err = tx.Exec(ctx, `ALTER INDEX IF EXISTS `+pgx.Identifier{schema, legacyMigrationsTable + "_pkey"}.Sanitize()+
			` RENAME TO `+pgx.Identifier{migrationsTable + "_pkey"}.Sanitize())
	}
	if err != nil {
		return fmt.Errorf("rename %s to %s: %w", legacyMigrationsTable, migrationsTable, err)
	}
	s.logger().LogAttrs(ctx, slog.LevelInfo, "postgres store: renamed the migrations table",
		slog.String("schema", schema), slog.String("from", legacyMigrationsTable), slog.String("to", migrationsTable))
	return nil
}
