package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/claimkit/claim"
)

// apply runs ws through tx's BulkTx capability, or through claim.Apply
// when the store has none: both must behave as the single calls.
func apply(tx claim.Tx, ws []claim.Write) error {
	if b, ok := tx.(claim.BulkTx); ok {
		return b.Apply(ws)
	}
	return claim.Apply(tx, ws)
}

// testBulk: the optional BulkTx capability (or its fallback) reads and
// writes as the single methods do, and a failing write fails as its
// method would.
func testBulk(t *testing.T, s claim.Store) {
	update(t, s, func(tx claim.Tx) error { return tx.CreateOrg(newOrg("o1")) })
	a, b := newUser("u1", "a@x.example", "o1"), newUser("u2", "b@x.example", "o1")
	createUsers(t, s, a, b)

	{
		view(t, s, func(tx claim.Tx) error {
			bt, ok := tx.(claim.BulkTx)
			if !ok {
				return nil
			}
			got, err := bt.UsersByEmails([]string{"a@x.example", "nobody@x.example", "b@x.example"})
			must(t, err, "UsersByEmails")
			slices.SortFunc(got, func(x, y claim.User) int { return strings.Compare(string(x.ID), string(y.ID)) })
			diffList(t, "UsersByEmails", got, []claim.User{a, b})
			got, err = bt.UsersByEmails(nil)
			must(t, err, "UsersByEmails(nil)")
			diffList(t, "UsersByEmails(nil)", got, []claim.User(nil))
			return nil
		})
	}

	c := newUser("u3", "c@x.example", "o1")
	a2 := a
	a2.Email, a2.Content = "a2@x.example", 99
	e1 := claim.Event{At: t0, Type: claim.EventUserAdded, Org: "o1", User: "u3"}
	e2 := claim.Event{At: t0, Type: claim.EventUserDeleted, Org: "o1", User: "u2"}
	update(t, s, func(tx claim.Tx) error {
		must(t, apply(tx, []claim.Write{
			{Op: claim.WriteCreateUser, User: c},
			{Op: claim.WriteUpdateUser, User: a2},
			{Op: claim.WriteDeleteUser, User: claim.User{ID: "u2"}},
			{Op: claim.WriteAppendEvent, Event: e1},
			{Op: claim.WriteAppendEvent, Event: e2},
		}), "Apply")
		// The transaction sees its writes.
		got, err := tx.UserByEmail("a2@x.example")
		must(t, err, "UserByEmail(a2) after Apply")
		diffList(t, "UserByEmail(a2) after Apply", got, a2)
		return nil
	})
	e1.Seq, e2.Seq = 1, 2
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.UsersByOrg("o1", "", big)
		must(t, err, "UsersByOrg")
		diffList(t, "UsersByOrg after Apply", got, []claim.User{a2, c})
		_, err = tx.UserByEmail("a@x.example")
		wantErr(t, err, claim.ErrNotFound, "UserByEmail(old address) after Apply")
		evs, err := tx.Events(0, big)
		must(t, err, "Events")
		diffList(t, "Events after Apply", evs, []claim.Event{e1, e2})
		return nil
	})

	// Each failing write fails as its method would; the transaction,
	// abandoned, leaves nothing.
	dupID := newUser("u3", "new@x.example", "o1")
	taken := newUser("u9", "c@x.example", "o1")
	missing := newUser("u8", "m@x.example", "o1")
	e3 := claim.Event{At: t0, Type: claim.EventUserAdded, Org: "o1", User: "u7"}
	for _, tc := range []struct {
		name string
		ws   []claim.Write
		want error
	}{
		{"CreateUser of an ID that exists", []claim.Write{{Op: claim.WriteAppendEvent, Event: e3}, {Op: claim.WriteCreateUser, User: dupID}}, claim.ErrDuplicate},
		{"CreateUser of a taken address", []claim.Write{{Op: claim.WriteCreateUser, User: taken}, {Op: claim.WriteAppendEvent, Event: e3}}, claim.ErrEmailTaken},
		{"UpdateUser to a taken address", []claim.Write{{Op: claim.WriteUpdateUser, User: func() claim.User { u := a2; u.Email = "c@x.example"; return u }()}}, claim.ErrEmailTaken},
		{"UpdateUser of a missing user", []claim.Write{{Op: claim.WriteAppendEvent, Event: e3}, {Op: claim.WriteUpdateUser, User: missing}}, claim.ErrNotFound},
		{"DeleteUser of a missing user", []claim.Write{{Op: claim.WriteDeleteUser, User: missing}}, claim.ErrNotFound},
		{"an unknown op", []claim.Write{{Op: 0}}, claim.ErrInvalidValue},
	} {
		boom := errors.New("abandon")
		err := s.Update(t.Context(), func(tx claim.Tx) error {
			err := apply(tx, tc.ws)
			wantErr(t, err, tc.want, "Apply: "+tc.name)
			return boom
		})
		wantErr(t, err, boom, "Update after a failed Apply")
	}
	view(t, s, func(tx claim.Tx) error {
		got, err := tx.UsersByOrg("o1", "", big)
		must(t, err, "UsersByOrg")
		diffList(t, "UsersByOrg after failed Applies", got, []claim.User{a2, c})
		evs, err := tx.Events(0, big)
		must(t, err, "Events")
		diffList(t, "Events after failed Applies", evs, []claim.Event{e1, e2})
		return nil
	})
	// Not even a used event number: the next event is the third.
	checkNextSeq(t, s, 3)

	// A View refuses the writes.
	err := s.View(t.Context(), func(tx claim.Tx) error {
		return apply(tx, []claim.Write{{Op: claim.WriteAppendEvent, Event: e3}})
	})
	if err == nil {
		t.Errorf("Apply in a View = nil, want an error")
	}
}
