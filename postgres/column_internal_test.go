package postgres

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgtype"
)

// roundTrip encodes col as an SQL array of oid the way pgx sends a
// parameter, in binary, and decodes it into dst the way pgx reads one.
func roundTrip(t *testing.T, oid uint32, col any, dst any) {
	t.Helper()
	m := pgtype.NewMap()
	buf, err := m.Encode(oid, pgtype.BinaryFormatCode, col, nil)
	if err != nil {
		t.Fatalf("Encode(%T) = %v", col, err)
	}
	if err := m.Scan(oid, pgtype.BinaryFormatCode, buf, dst); err != nil {
		t.Fatalf("Scan(%T) = %v", col, err)
	}
}

// TestColumnsEncodeTheirValues: each kind of column the store sends
// arrives as the SQL array of its values, in order, with NULL for an
// invalid pgtype value and an empty array for an empty column.
func TestColumnsEncodeTheirValues(t *testing.T) {
	var texts []pgtype.Text
	roundTrip(t, pgtype.TextArrayOID, column[str]{"ann", "", "bob"}, &texts)
	want := []pgtype.Text{{String: "ann", Valid: true}, {String: "", Valid: true}, {String: "bob", Valid: true}}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("column[str] (-want +got):\n%s", diff)
	}
	var nums []int64
	for _, oid := range []uint32{pgtype.Int2ArrayOID, pgtype.Int4ArrayOID, pgtype.Int8ArrayOID} {
		roundTrip(t, oid, column[num]{-3, 0, 7}, &nums)
		if diff := cmp.Diff([]int64{-3, 0, 7}, nums); diff != "" {
			t.Errorf("column[num] as array %d (-want +got):\n%s", oid, diff)
		}
	}
	var int8s []pgtype.Int8
	roundTrip(t, pgtype.Int8ArrayOID, column[pgtype.Int8]{{Int64: 1 << 40, Valid: true}, {}}, &int8s)
	if diff := cmp.Diff([]pgtype.Int8{{Int64: 1 << 40, Valid: true}, {}}, int8s); diff != "" {
		t.Errorf("column[pgtype.Int8] (-want +got):\n%s", diff)
	}
	var int2s []pgtype.Int2
	roundTrip(t, pgtype.Int2ArrayOID, column[pgtype.Int2]{{}, {Int16: 2, Valid: true}}, &int2s)
	if diff := cmp.Diff([]pgtype.Int2{{}, {Int16: 2, Valid: true}}, int2s); diff != "" {
		t.Errorf("column[pgtype.Int2] (-want +got):\n%s", diff)
	}
	texts = nil
	roundTrip(t, pgtype.TextArrayOID, column[pgtype.Text]{{String: "acme", Valid: true}, {}}, &texts)
	if diff := cmp.Diff([]pgtype.Text{{String: "acme", Valid: true}, {}}, texts); diff != "" {
		t.Errorf("column[pgtype.Text] (-want +got):\n%s", diff)
	}
	var bools []pgtype.Bool
	roundTrip(t, pgtype.BoolArrayOID, column[pgtype.Bool]{{Bool: true, Valid: true}, {}, {Valid: true}}, &bools)
	if diff := cmp.Diff([]pgtype.Bool{{Bool: true, Valid: true}, {}, {Valid: true}}, bools); diff != "" {
		t.Errorf("column[pgtype.Bool] (-want +got):\n%s", diff)
	}
	if d := column[str](nil).Dimensions(); d != nil {
		t.Errorf("a nil column's dimensions = %v, want none (NULL)", d)
	}
	if d := (column[str]{}).Dimensions(); len(d) != 1 || d[0].Length != 0 {
		t.Errorf("an empty column's dimensions = %v, want one of length 0", d)
	}
	empty := []string{"not replaced"}
	roundTrip(t, pgtype.TextArrayOID, column[str](nil).orEmpty(), &empty)
	if empty == nil || len(empty) != 0 {
		t.Errorf("an empty column decodes to %#v, want an empty array", empty)
	}
}

// TestColumnOutOfRange: pgx refuses a num out of its SQL type's range
// rather than sending another number.
func TestColumnOutOfRange(t *testing.T) {
	m := pgtype.NewMap()
	if _, err := m.Encode(pgtype.Int2ArrayOID, pgtype.BinaryFormatCode, column[num]{1 << 15}, nil); err == nil {
		t.Error("Encode(smallint[] {32768}) = nil error, want one")
	}
}

// TestColumnsEncodeWithoutAllocating: encoding a column of 1,000
// values allocates a few times, not once a value, as pgx's own slices
// do (the reason for column).
func TestColumnsEncodeWithoutAllocating(t *testing.T) {
	const n = 1000
	m := pgtype.NewMap()
	texts, nums := make(column[str], n), make(column[num], n)
	int8s, bools := make(column[pgtype.Int8], n), make(column[pgtype.Bool], n)
	for i := range n {
		texts[i], nums[i] = "user@example.com", num(i*1000)
		int8s[i], bools[i] = pgtype.Int8{Int64: int64(i) << 32, Valid: i%2 == 0}, pgtype.Bool{Bool: true, Valid: true}
	}
	buf := make([]byte, 0, 64*n)
	for _, c := range []struct {
		oid uint32
		col any
	}{{pgtype.TextArrayOID, texts}, {pgtype.Int8ArrayOID, nums}, {pgtype.Int8ArrayOID, int8s}, {pgtype.BoolArrayOID, bools}} {
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := m.Encode(c.oid, pgtype.BinaryFormatCode, c.col, buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 10 {
			t.Errorf("encoding a %T of %d values allocates %v times, want at most 10", c.col, n, allocs)
		}
	}
}

// TestColumnPlain: a column's plain slice holds its values, in order, as
// types pgx knows without asking the server, and is nil (NULL) for nil
// and empty for empty (cmp tells the two apart).
func TestColumnPlain(t *testing.T) {
	for _, c := range []struct {
		col  interface{ plain() any }
		want any
	}{
		{column[str]{"ann", ""}, []string{"ann", ""}},
		{column[str](nil), []string(nil)},
		{column[str]{}, []string{}},
		{column[num]{-1, 1 << 40}, []int64{-1, 1 << 40}},
		{column[num](nil), []int64(nil)},
		{column[pgtype.Int8]{{Int64: 3, Valid: true}, {}}, []pgtype.Int8{{Int64: 3, Valid: true}, {}}},
		{column[pgtype.Bool](nil), []pgtype.Bool(nil)},
	} {
		if diff := cmp.Diff(c.want, c.col.plain()); diff != "" {
			t.Errorf("%#v.plain() (-want +got):\n%s", c.col, diff)
		}
	}
}
