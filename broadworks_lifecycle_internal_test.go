package claim

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// subReachable returns the statuses a subscriber can reach from "no
// subscriber" through rows that can fire, in subStatuses's order.
func subReachable() []SubscriberStatus {
	seen := map[SubscriberStatus]bool{}
	todo := []SubscriberStatus{noSubscriber}
	for len(todo) > 0 {
		from := todo[0]
		todo = todo[1:]
		for on := onProvision; on <= onRemove; on++ {
			for _, tr := range subFiring(from, on) {
				if !seen[tr.to] {
					seen[tr.to] = true
					todo = append(todo, tr.to)
				}
			}
		}
	}
	var out []SubscriberStatus
	for _, st := range subStatuses {
		if seen[st] && st != noSubscriber {
			out = append(out, st)
		}
	}
	return out
}

// TestSubscriberDiagram: every status is reachable, every reachable
// status is an arrow's target in the diagram, and the diagram follows the
// table: a row added to it adds its arrow.
func TestSubscriberDiagram(t *testing.T) {
	want := []SubscriberStatus{StatusPendingEmailInput, StatusPendingEmailValidation,
		StatusPendingUserMigration, StatusProvisioning, StatusProvisioned, StatusError}
	if diff := cmp.Diff(want, subReachable()); diff != "" {
		t.Errorf("reachable statuses (-want +got):\n%s", diff)
	}
	d := subscriberDiagram()
	if !strings.HasPrefix(d, "stateDiagram-v2\n") {
		t.Errorf("diagram starts %q, want stateDiagram-v2", strings.SplitN(d, "\n", 2)[0])
	}
	for _, st := range subReachable() {
		if !strings.Contains(d, " --> "+string(st)+": ") {
			t.Errorf("no arrow into %s in the diagram:\n%s", st, d)
		}
	}
	if !strings.Contains(d, "    provisioned --> [*]: remove\n") {
		t.Errorf("no arrow for removal, the end of the lifecycle:\n%s", d)
	}
	// Every line after the first is an arrow of a row that can fire.
	for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n")[1:] {
		if !strings.HasPrefix(l, "    ") || !strings.Contains(l, " --> ") {
			t.Errorf("diagram line %q is not an arrow", l)
		}
	}

	saved := slices.Clone(subTransitions)
	t.Cleanup(func() { subTransitions = saved })
	subTransitions = append(subTransitions, subTransition{StatusProvisioned, onRetry, subAlways, StatusError, statusEvent})
	if got := subscriberDiagram(); !strings.Contains(got, "    provisioned --> error: retry\n") || got == d {
		t.Errorf("a row added to the table drew no arrow:\n%s", got)
	}
	subTransitions = slices.DeleteFunc(slices.Clone(saved), func(tr subTransition) bool { return tr.on == onConsent })
	if got := subscriberDiagram(); strings.Contains(got, "consent") {
		t.Errorf("a row removed from the table is still drawn:\n%s", got)
	}
}

// TestSubNext: the guards pick the row, and a move the table has no row
// for is ErrSubscriberStatus.
func TestSubNext(t *testing.T) {
	trusted := Subscriber{ID: "s", Flow: FlowTrusted}
	untrusted := Subscriber{ID: "s", Flow: FlowUntrusted}
	in := func(s Subscriber, st SubscriberStatus) Subscriber { s.Status = st; return s }
	old := subFacts{old: "usr_old", oldOrg: "consumer"}
	approval := subFacts{reasons: []AttachReason{ReasonManyUsers}}
	for _, c := range []struct {
		sub    Subscriber
		on     subTrigger
		f      subFacts
		to     SubscriberStatus
		events []string
	}{
		{untrusted, onProvision, subFacts{}, StatusPendingEmailInput, activationEvent},
		{trusted, onProvision, subFacts{}, StatusProvisioning, statusEvent},
		{trusted, onProvision, approval, StatusError, statusEvent},
		{trusted, onProvision, old, StatusPendingUserMigration, consentEvent},
		{in(untrusted, StatusPendingEmailInput), onEnterEmail, subFacts{}, StatusPendingEmailValidation, validationEvent},
		{Subscriber{ID: "s", Flow: FlowSelfActivation}, onSelfActivate, subFacts{}, StatusPendingEmailValidation, validationEvent},
		{in(untrusted, StatusPendingEmailValidation), onValidate, old, StatusPendingUserMigration, statusEvent},
		{in(untrusted, StatusPendingEmailValidation), onValidate, approval, StatusError, statusEvent},
		{in(trusted, StatusPendingUserMigration), onConsent, subFacts{}, StatusProvisioning, statusEvent},
		{in(trusted, StatusError), onRetry, approval, StatusError, statusEvent},
		{in(trusted, StatusError), onRetry, old, StatusPendingUserMigration, consentEvent},
		{in(untrusted, StatusError), onRetry, old, StatusPendingUserMigration, statusEvent},
		{in(trusted, StatusProvisioning), onAccount, subFacts{user: "u"}, StatusProvisioned, statusEvent},
		{in(trusted, StatusProvisioned), onRemove, subFacts{}, noSubscriber, removedEvent},
	} {
		tr, err := subNext(c.sub, c.on, c.f)
		if err != nil || tr.to != c.to || !slices.Equal(tr.events, c.events) {
			t.Errorf("subNext(%s, %v, %+v) = %s %v, %v; want %s %v", c.sub.Status, c.on, c.f, tr.to, tr.events, err, c.to, c.events)
		}
	}
	for _, st := range subStatuses {
		for on := onProvision; on <= onRemove; on++ {
			if subMoves(st, on) {
				continue
			}
			if _, err := subNext(in(trusted, st), on, subFacts{}); !errors.Is(err, ErrSubscriberStatus) {
				t.Errorf("subNext(%q, %v) with no row = %v, want ErrSubscriberStatus", st, on, err)
			}
		}
	}
}

// eventLog is a Tx that records the events appended to it; any other
// call panics (moveSubscriber makes none).
type eventLog struct {
	Tx
	events []Event
}

func (l *eventLog) AppendEvent(e Event) error {
	l.events = append(l.events, e)
	return nil
}

// TestMoveSubscriber: a move sets the status and what it carries and
// writes the row's events; a refused one changes nothing and writes
// nothing.
func TestMoveSubscriber(t *testing.T) {
	now := time.Date(2026, 5, 13, 9, 0, 0, 0, time.UTC)
	e := BroadWorksEnterprise{ID: "ent", Partner: "partner", Org: "cust"}
	rec := &eventLog{}
	tx := &txn{tx: rec, now: now, rw: true}

	sub := Subscriber{ID: "s1", Enterprise: "ent", Flow: FlowTrusted, Email: "a@x.example", Status: StatusError,
		Reasons: []AttachReason{ReasonManyUsers}}
	if err := tx.moveSubscriber(e, &sub, onRetry, subFacts{old: "old", oldOrg: "consumer"}); err != nil {
		t.Fatal(err)
	}
	want := Subscriber{ID: "s1", Enterprise: "ent", Flow: FlowTrusted, Email: "a@x.example",
		Status: StatusPendingUserMigration, Old: "old", UpdatedAt: now}
	if diff := cmp.Diff(want, sub); diff != "" {
		t.Errorf("after retry with an old account (-want +got):\n%s", diff)
	}
	wantEvents := []Event{
		{Type: EventSubscriberStatus, At: now, Org: "cust", From: "partner", Subscriber: "s1", Detail: string(StatusPendingUserMigration)},
		{Type: EventNotifyConsent, At: now, Org: "cust", From: "consumer", User: "old", Recipient: "a@x.example", Subscriber: "s1"},
	}
	if diff := cmp.Diff(wantEvents, rec.events); diff != "" {
		t.Errorf("events of retry with an old account (-want +got):\n%s", diff)
	}

	rec.events = nil
	before := sub
	if err := tx.moveSubscriber(e, &sub, onRetry, subFacts{}); !errors.Is(err, ErrSubscriberStatus) {
		t.Errorf("retry of a pending_user_migration subscriber = %v, want ErrSubscriberStatus", err)
	}
	if diff := cmp.Diff(before, sub); diff != "" || len(rec.events) > 0 {
		t.Errorf("a refused move changed the subscriber (-before +after):\n%s\nevents: %v", diff, rec.events)
	}

	sub.Status = StatusProvisioning
	if err := tx.moveSubscriber(e, &sub, onAccount, subFacts{user: "usr1"}); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 1 {
		t.Fatalf("provisioned: %d events, want 1: %+v", len(rec.events), rec.events)
	}
	if sub.Status != StatusProvisioned || sub.User != "usr1" || sub.Old != "" || rec.events[0].User != "usr1" {
		t.Errorf("provisioned: status %s, User %q, Old %q, event %+v; want provisioned, usr1, none, usr1", sub.Status, sub.User, sub.Old, rec.events[0])
	}

	rec.events = nil
	if err := tx.moveSubscriber(e, &sub, onRemove, subFacts{}); err != nil {
		t.Fatal(err)
	}
	wantEvents = []Event{{Type: EventSubscriberRemoved, At: now, Org: "cust", From: "partner", User: "usr1", Subscriber: "s1", Detail: string(StatusProvisioned)}}
	if diff := cmp.Diff(wantEvents, rec.events); diff != "" || sub.Status != StatusProvisioned {
		t.Errorf("removal: status %s (want it kept), events (-want +got):\n%s", sub.Status, diff)
	}
}

// statusWrites returns where file assigns a subscriber's Status outside
// the lifecycle table: an assignment to X.Status (not to an element of a
// slice, such as prof.Licenses[i].Status, an OrgLicense's), or a
// Subscriber literal that sets Status.
func statusWrites(fset *token.FileSet, file *ast.File) []string {
	var out []string
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Status" {
					if _, elem := sel.X.(*ast.IndexExpr); !elem {
						out = append(out, fset.Position(l.Pos()).String())
					}
				}
			}
		case *ast.CompositeLit:
			if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Subscriber" {
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Status" {
							out = append(out, fset.Position(kv.Pos()).String())
						}
					}
				}
			}
		}
		return true
	})
	return out
}

// TestStatusOnlyInLifecycle: no non-test file of the package but
// broadworks_lifecycle.go sets a subscriber's Status, so every status
// change goes through the table (moveSubscriber).
func TestStatusOnlyInLifecycle(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, de := range entries {
		name := de.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == "broadworks_lifecycle.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, at := range statusWrites(fset, f) {
			t.Errorf("%s: a subscriber's Status set outside broadworks_lifecycle.go; move it through the table (moveSubscriber)", at)
		}
	}
	if files < 10 {
		t.Errorf("parsed %d files of the package; want them all", files)
	}

	// The check itself: it finds each way of setting Status, and passes
	// a license's.
	src := `package p
func f() {
	sub.Status = StatusError
	s.sub.Status, sub.UpdatedAt = StatusError, now
	_ = Subscriber{ID: "x", Status: StatusError}
	prof.Licenses[i].Status = LicenseCancelled
	l := OrgLicense{Status: LicenseActive}
}`
	f, err := parser.ParseFile(fset, "check.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := statusWrites(fset, f)
	want := []string{"check.go:3:2", "check.go:4:2", "check.go:5:26"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statusWrites of the sample (-want +got):\n%s", diff)
	}
}
