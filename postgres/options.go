package postgres

import (
	"io"
	"log/slog"
)

// An Option configures a Store; pass options to Open or New.
type Option func(*Store)

// WithLogger makes the store log to l: Migrate logs each migration it
// applies, the rename of an older build's migrations table (Info), a
// failed migration (Error) and a schema already up to date (Debug). A
// nil l, like no WithLogger, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

// with applies opts to s, starts its listener if it has one, and
// returns it.
func (s *Store) with(opts []Option) *Store {
	for _, o := range opts {
		o(s)
	}
	if s.listener != nil {
		s.listener.start(s)
	}
	return s
}

// discard is the logger of a store given none.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// logger returns the store's logger, or one that discards.
func (s *Store) logger() *slog.Logger {
	if s.log == nil {
		return discard
	}
	return s.log
}
