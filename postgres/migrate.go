package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

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

// migrateLockClass is the first key of the advisory lock Migrate holds;
// the second is a hash of the schema's name.
const migrateLockClass = 0x636c6d6d // "clmm"

// Migrate brings the schema up to date: it applies, in order, each
// embedded migration that the schema_migrations table of the schema
// (the first existing schema of the search_path) does not list, each in
// a transaction of its own that also records it there. It creates
// schema_migrations if needed. Running it again changes nothing.
//
// Migrate is safe to call from several processes at once: it holds a
// session-level advisory lock (pg_advisory_lock), keyed by the schema,
// while it reads and applies migrations, so one process migrates and the
// others wait for it and then find nothing to do. Versions in
// schema_migrations that this build does not know (written by a newer
// build) are left alone.
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
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, migrateLockClass, key); err != nil {
		return fmt.Errorf("postgres store: migrate: lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, uerr := conn.Exec(uctx, `SELECT pg_advisory_unlock($1, $2)`, migrateLockClass, key); uerr != nil {
			// Closing the session releases the lock.
			_ = conn.Close(uctx)
			if err == nil {
				err = fmt.Errorf("postgres store: migrate: unlock: %w", uerr)
			}
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("postgres store: migrate: create schema_migrations: %w", err)
	}
	rows, _ := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres store: migrate: read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if m.version > upTo {
			break
		}
		if slices.Contains(applied, int32(m.version)) {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: the simple protocol, which runs the file's
			// statements one after another.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres store: migrate: %s: %w", m.name, err)
		}
	}
	return nil
}
