// Package claim models how an identity admin console claims users from
// other organizations into its own: Webex Control Hub's "claim users"
// (also "convert users") workflow, rule by rule.
//
// The library decides, records and reports. It does not send e-mail or
// move data: every change appends events to an event log in the same
// store transaction (Service.Events), and the host system acts on them —
// sends the claim e-mail (notify.claim), moves content
// (content.migrated), deletes it (content.deleted).
//
// # Overview
//
// An org proves it owns an e-mail domain through DNS
// (StartDomainVerification, ConfirmDomain) and may then claim the users
// of other orgs whose addresses are on that domain (Claimable,
// Eligibility, ClaimUsers, ClaimEmails). A claimed user moves to the
// claiming org at once; an original account holding its content stays
// behind in its old org under the address <address>.convert-user.local,
// frozen, until the user chooses what happens to it (Choose): keep it
// under a new address, migrate its content, or delete it.
//
// A claim is immediate or delayed. A delayed claim (for users of
// personal accounts created before 6 May 2020, when the claiming org
// allows content migration) keeps the user in Delayed Claim for 14 days;
// without a choice by then, its content migrates automatically. The
// claiming org may retract a claim until the user signs in and for less
// than 14 days (Retract, Retractable).
//
// An org that keeps its users in a directory synchronizes it
// (SyncDirectory, SyncDirectorySeq): a dry run reports exactly what the
// sync would do, a full sync deactivates the users the directory does not
// name (claimed users included), and Sweep deletes users Inactive for 30
// days.
//
// Before claiming, an admin can ask what would happen: ClaimUsers and
// ClaimEmails with ClaimOptions.DryRun return the results and write
// nothing (L1), and PlanClaims answers per user — claimable or why not,
// mode, content left behind, licenses, site-access risk, and against the
// org's directory whether the next full sync would deactivate the user
// and when the purge would delete it (L2). ExportTemplate writes the
// CSV template an admin fills in by hand (S2). An org's meeting sites
// (AddSite, MoveSiteToControlHub, SetSiteAccess) matter to a claim: a
// user who holds a license or external-admin rights on a site moved to
// Control Hub may lose access to its meetings (S1); the claim warns,
// and ClaimOptions.Relicense applies the workaround.
//
// # Webex for BroadWorks
//
// A service provider (a partner org) provisions the subscribers of its
// BroadWorks enterprises into Webex orgs (B1–B6) through the methods of
// BroadWorks, which Service.BroadWorks returns. One enterprise belongs
// to one org (B5): the org its first provisioning creates, whose first
// user becomes its administrator (B2), or an existing customer org it
// attaches to, automatically or once that org's admin approves (B3,
// B4). A user of a Consumer or Individual org moves only with consent
// (B1): in the trusted-e-mail, untrusted-e-mail and self-activation flows
// alike the subscriber waits in pending_user_migration until the user
// deletes the old account (BroadWorks.Consent), and only then is the
// address provisioned in the BroadWorks org. BroadWorks.Detach ends the
// mapping once its workspaces and subscribers are gone (B6); DeleteOrg
// refuses an org an enterprise still belongs to.
//
// # Trust
//
// Every string the library stores is checked against limits (limits.go:
// MaxIDBytes, MaxNameChars, MaxNameBytes, MaxEmailBytes, MaxInputBytes)
// before the store sees it, so every store behaves alike, and an
// *InputError quotes at most 64 bytes of a value. An org learns from
// errors nothing about what it may not see — users of other orgs on
// domains it has not verified, other orgs' IDs and settings (N3). User,
// UserByEmail, DaysLeft and Events are global reads for the host's
// trusted code, not an org admin's view.
//
// # Time
//
// Windows are deadlines stored with each claim and compared with the
// Service's Clock on every call: a read after the deadline already shows
// the claim resolved, and the next write that touches the user persists
// the resolution in its own transaction. Sweep persists the rest in
// batches. Nothing runs in the background unless the host starts
// RunSweeper, which calls Sweep every interval on one process at a time
// (P3; its lease is timed by the store's clock, not the Service's); a
// fake clock (claimtest.NewClock) is all a test of the rules needs.
//
// # User states
//
// Users move between the five states only along the rows of this
// table, which the engine consults for every change: the first row whose
// state (FROM), trigger (ON) and condition (WHEN) match decides, and its
// EVENT is written when the step changes the user. "(new)" is a user
// being created, "any" matches every state. The same table is drawn as a
// state diagram in docs/states.md and the README (go generate).
//
// A claim record has a lifecycle of its own, in the same steps: made
// pending by a claim (claim.created, notify.claim), marked when the user
// signs in during it (I1), and ended by the user's choice
// (claim.resolved), by expiry (claim.expired), by retraction
// (claim.retracted, original.released) or by the deletion of the
// original account's org (claim.resolved). A choice before the user has
// signed in is refused (ErrChoiceNotAllowed), and so is a retraction
// after (ErrSignedIn). docs/claims.md draws it. One function applies
// both tables to a user, and nothing else in the engine sets a user's
// state, its claim record or the dates that follow them. A Webex for
// BroadWorks subscriber's status has a table of its own, drawn in
// docs/subscribers.md (see BroadWorks).
//
// The table is generated from state.go (go test -run TestDocTransitions -update):
//
//	FROM           ON                    WHEN                    TO                          EVENT
//	(new)          add                   domain verified         Verified                    user.added
//	(new)          add                                           Not Verified                user.added
//	Not Verified   verify_email                                  Verified                    user.verified
//	any            verify_email                                  unchanged
//	Not Verified   sign_in                                       refused: user not verified
//	Inactive       sign_in                                       refused: user inactive
//	Verified       sign_in                                       Active                      user.signed_in
//	Active         sign_in                                       Active                      user.signed_in
//	Delayed Claim  sign_in                                       Delayed Claim               user.signed_in
//	any            deactivate                                    Inactive                    user.deactivated
//	Inactive       reactivate            delayed claim pending   Delayed Claim               user.reactivated
//	Inactive       reactivate            signed in before        Active                      user.reactivated
//	Inactive       reactivate            domain verified         Verified                    user.reactivated
//	Inactive       reactivate                                    Not Verified                user.reactivated
//	any            reactivate                                    unchanged
//	Not Verified   claim_immediate                               Verified
//	any            claim_immediate                               unchanged
//	any            claim_delayed                                 Delayed Claim
//	Inactive       choose                                        Inactive
//	any            choose                                        Active
//	Inactive       expire                                        Inactive
//	Delayed Claim  expire                signed in during claim  Active
//	Delayed Claim  expire                was Not Verified        Verified
//	Delayed Claim  expire                was Verified            Verified
//	Delayed Claim  expire                was Active              Active
//	Delayed Claim  expire                was Inactive            Inactive
//	any            retract               was Not Verified        Not Verified
//	any            retract               was Verified            Verified
//	any            retract               was Active              Active
//	any            retract               was Inactive            Inactive
//	(new)          sync                  domain verified         Active                      user.added
//	(new)          sync                                          Not Verified                user.added
//	Inactive       sync                  delayed claim pending   Delayed Claim               user.reactivated
//	Delayed Claim  sync                                          Delayed Claim
//	Inactive       sync                  domain verified         Active                      user.reactivated
//	any            sync                  domain verified         Active                      user.promoted
//	Inactive       sync                  signed in before        Active                      user.reactivated
//	Inactive       sync                                          Not Verified                user.reactivated
//	any            sync                                          unchanged
//	any            original_org_deleted                          unchanged
//
// (End of the generated table.)
//
// Refusals are transitions too: signing in is refused for Not Verified
// (ErrNotVerified) and Inactive users (ErrInactive).
//
// # Stores
//
// A Store runs functions in transactions; NewMemoryStore is the embedded
// default, and the postgres subpackage lets several processes share one
// database. The storetest package is the conformance suite every Store
// passes. The Service is safe for concurrent use: when two operations
// race on one user exactly one wins and the other gets the error it would
// get had it run second.
//
// # Errors
//
// Errors wrap sentinels (ErrNotFound, ErrNotEligible, …) for errors.Is.
// Bad input is an *InputError naming the field and the value; an
// ineligible user a *RefusalError with every reason; a refused retraction
// a *RetractError with every reason. An operation that returns an error
// has changed nothing.
package claim
