package postgres

import (
	"context"

	"github.com/claimkit/claim"
)

// ListQueries are the list queries of the Tx, and the BroadWorks lookups
// by a partial unique index, with arguments that make them select a few
// rows of the tables TestListQueriesUseIndexes fills, and the index each
// must use.
var ListQueries = []struct {
	Name, SQL, Index string
	Args             []any
}{
	{"UsersByOrg", queryUsersByOrg, "users_org_email_idx", []any{"org-7", "user-00100@d3.example", 50}},
	{"EmailsByOrg", queryEmailsByOrg, "users_org_email_idx", []any{"org-7", "user-00100@d3.example", 50}},
	{"UsersByDomain", queryUsersByDomain, "users_domain_email_idx", []any{"d3.example", "user-00100@d3.example", 50}},
	{"PendingClaimsBy", queryPendingClaimsBy, "users_claim_by_email_idx", []any{"claimer-2", "user-00100@d3.example", 50}},
	{"DueClaims", queryDueClaims, "users_claim_due_idx", []any{int64(1_700_000_000_000_000_000), 50}},
	{"InactiveUsers", queryInactiveUsers, "users_inactive_idx", []any{int64(1_600_000_000_000_000_000 + 2_000*10_000_000_000), 50}},
	{"Events", queryEventsSettled, "events_pkey", []any{int64(100), 50}},
	{"SubscribersByEnterprise", querySubscribersByEnterprise, "bw_subscribers_enterprise_idx", []any{"ent-007", "sub-00100", 50}},
	{"EnterprisesByPartner", queryEnterprisesByPartner, "bw_enterprises_partner_idx", []any{"partner-3", "ent-00100", 50}},
	{"SubscriberByEmail", querySubscriberByEmail, "bw_subscribers_email_key", []any{"sub-00100@x.example"}},
	{"EnterpriseByOrg", queryEnterpriseByOrg, "bw_enterprises_org_key", []any{"org-00100"}},
}

// Exec runs sql in the transaction of x, a Tx of this package, as the
// Tx's own statements run: a failure breaks the transaction. Tests use it
// to make a statement fail with the SQLSTATE they choose.
func Exec(x claim.Tx, sql string, args ...any) error {
	t := x.(*tx)
	if err := t.check("Exec", false); err != nil {
		return err
	}
	if _, err := t.exec(sql, args...); err != nil {
		return t.fail("Exec", err)
	}
	return nil
}

// MigrateTo is Migrate, applying only the migrations up to version, as
// an older build of the store would have left the schema.
func MigrateTo(ctx context.Context, s *Store, version int) error {
	return s.migrate(ctx, version)
}

// ListenerPID returns the server process of the store's listener
// session, or 0 while it does not listen (or the store has no listener).
func ListenerPID(s *Store) uint32 {
	if s.listener == nil {
		return 0
	}
	s.listener.mu.Lock()
	defer s.listener.mu.Unlock()
	return s.listener.pid
}

// BackendPID returns the server process that runs x, a Tx of this
// package, by a statement of x (which begins x if it has not begun):
// behind PgBouncer the process the connection names is the pooler's.
func BackendPID(x claim.Tx) (int32, error) {
	t := x.(*tx)
	var pid int32
	if err := t.queryRow(`SELECT pg_backend_pid()`, nil, &pid); err != nil {
		return 0, t.fail("BackendPID", err)
	}
	return pid, nil
}

// NewUserKeys is newUserKeys: how many keys of new IDs and addresses an
// Update locks one by one before it locks coarse keys only.
const NewUserKeys = newUserKeys

// EventLockClass is the first key of the event lock (pg_locks' classid).
const EventLockClass = eventLockClass
