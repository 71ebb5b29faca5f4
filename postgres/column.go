package postgres

import "github.com/jackc/pgx/v5/pgtype"

// column is a one-dimensional SQL array parameter, one value per row of
// a batch of writes (Apply, the event log), that pgx encodes without an
// allocation per value.
//
// pgx encodes an array by asking it for each element as an interface
// value. Its own slices and pgtype.FlatArray hand out the elements
// themselves, which boxes each one (one allocation per value, through
// reflection for a slice of pgtype.Int8); a column hands out a pointer
// into its slice, which boxes nothing, and its element types are ones
// pgx encodes through a method of theirs (pgtype.Int64Valuer,
// TextValuer, BoolValuer), which the pointer has too. An import of
// 1,000 rows writes about 40,000 values.
type column[T any] []T

// Dimensions implements pgtype.ArrayGetter: one dimension, of the
// column's length, or none for a nil column, which is NULL (pgx sends a
// nil slice as NULL before it asks: see orEmpty).
func (c column[T]) Dimensions() []pgtype.ArrayDimension {
	if c == nil {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(len(c)), LowerBound: 1}}
}

// orEmpty returns c, or an empty column for nil: pgx sends a nil slice
// as NULL, where a statement may need an empty array.
func (c column[T]) orEmpty() column[T] {
	if c == nil {
		return column[T]{}
	}
	return c
}

// plain returns the column as a slice of a type pgx knows without
// asking the server (see describesNot): []string for a column of str,
// []int64 for one of num, and []T for one of a pgtype value.
func (c column[T]) plain() any {
	switch c := any(c).(type) {
	case column[str]:
		return convert(c, func(v str) string { return string(v) })
	case column[num]:
		return convert(c, func(v num) int64 { return int64(v) })
	}
	return []T(c)
}

// convert returns f of each value of c, nil for nil.
func convert[T, U any](c column[T], f func(T) U) []U {
	if c == nil {
		return nil
	}
	out := make([]U, len(c))
	for i, v := range c {
		out[i] = f(v)
	}
	return out
}

// Index implements pgtype.ArrayGetter: a pointer to the i-th value.
func (c column[T]) Index(i int) any { return &c[i] }

// IndexType implements pgtype.ArrayGetter.
func (c column[T]) IndexType() any { return new(T) }

// str is a text value of a column: pgx encodes a *str through
// pgtype.TextValuer.
type str string

// TextValue implements pgtype.TextValuer.
func (s str) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(s), Valid: true}, nil
}

// num is an integer value of a column (smallint, int or bigint): pgx
// encodes a *num through pgtype.Int64Valuer, and refuses one out of the
// range of the column's SQL type (in the exec and simple protocol modes
// the server does). The store checks ranges before (small, encUser).
type num int64

// Int64Value implements pgtype.Int64Valuer.
func (n num) Int64Value() (pgtype.Int8, error) { return pgtype.Int8{Int64: int64(n), Valid: true}, nil }
