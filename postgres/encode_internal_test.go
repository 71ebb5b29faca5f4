package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// encodedUsers are a user without a claim, with a held-by org and no
// times, and a claimed user with every time set.
func encodedUsers() []claim.User {
	at := time.Date(2026, 3, 2, 9, 0, 0, 1, time.UTC)
	return []claim.User{
		{ID: "usr_1", Email: "ann@acme.example", Org: "home", State: claim.Active, HeldBy: "acme"},
		{ID: "usr_2", Email: "bob@acme.example", FirstName: "Bob", LastName: "B", DisplayName: "Bob B",
			Org: "acme", State: claim.DelayedClaim, Licenses: []string{"Meetings", "Messaging"}, Content: 3,
			CreatedAt: at, LastSignIn: at.Add(1), InactiveSince: at.Add(2), ActivationSent: at.Add(3),
			Claim: &claim.ClaimInfo{By: "acme", From: "home", Mode: claim.Delayed, PrevState: claim.Active,
				At: at.Add(4), Deadline: at.Add(5), SignedIn: true, Original: "usr_3", Ended: at.Add(6), Outcome: claim.Action(2)}},
	}
}

// TestUserEncodings: a single statement's arguments (userArgs) and a
// run's columns (userCols.add) hold the same values, column by column,
// in userColumns order: both come from encUser.
func TestUserEncodings(t *testing.T) {
	for _, u := range encodedUsers() {
		args, err := userArgs(u)
		if err != nil {
			t.Fatalf("userArgs(%s) = %v", u.ID, err)
		}
		var c userCols
		if err := c.add(u); err != nil {
			t.Fatalf("userCols.add(%s) = %v", u.ID, err)
		}
		lics := c.lics[c.licLo[0]-1 : c.licHi[0]].plain().([]string)
		cols := []any{c.id[0], c.email[0], c.first[0], c.last[0], c.display[0], c.org[0], c.state[0],
			stringsOf(lics), c.content[0], c.created[0], c.lastSignIn[0], c.inactiveSince[0],
			c.actSent[0], c.heldBy[0], c.by[0], c.from[0], c.mode[0], c.prevState[0], c.at[0], c.deadline[0],
			c.signedIn[0], c.original[0], c.ended[0], c.outcome[0]}
		if diff := cmp.Diff(widened(args), widened(cols)); diff != "" {
			t.Errorf("user %s: userArgs (-) and userCols (+) differ:\n%s", u.ID, diff)
		}
		if got := decTime(ptrOf(c.at[0].Int64, c.at[0].Valid)); u.Claim != nil && !got.Equal(u.Claim.At) {
			t.Errorf("user %s: claim_at decodes to %v, want %v", u.ID, got, u.Claim.At)
		}
	}
}

// widened returns vs with the column element types (str, num) and the
// integers of a single statement's arguments as string and int64, so
// that the two encodings compare value by value.
func widened(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case str:
			out[i] = string(v)
		case num:
			out[i] = int64(v)
		case int16:
			out[i] = int64(v)
		default:
			out[i] = v
		}
	}
	return out
}

func ptrOf(n int64, ok bool) *int64 {
	if !ok {
		return nil
	}
	return &n
}

// TestEncodeAllocs: encoding a time, and a user's columns, allocates
// nothing (the bulk path encodes thousands of rows a statement).
func TestEncodeAllocs(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if n := testing.AllocsPerRun(100, func() { _, _ = encTime("t", now) }); n != 0 {
		t.Errorf("encTime allocates %v times a call, want 0", n)
	}
	u := encodedUsers()[1]
	if n := testing.AllocsPerRun(100, func() { _, _ = encUser(u) }); n != 0 {
		t.Errorf("encUser allocates %v times a call, want 0", n)
	}
	if _, err := encTime("User.CreatedAt", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, claim.ErrInvalidValue) {
		t.Errorf("encTime(1600) = %v, want ErrInvalidValue", err)
	}
}
