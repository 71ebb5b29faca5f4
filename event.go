package claim

import "time"

// Event is one entry of the event log (O1). Every change appends events
// in the same store transaction as the change; a host system acts on them
// (sends the e-mails, moves or deletes the content).
type Event struct {
	Seq       uint64        // the position in the log, increasing from 1
	At        time.Time     // the Service clock's time of the change
	Type      string        // one of the Event* constants
	Org       OrgID         // the org the change belongs to (for a claim: the claiming org)
	From      OrgID         // the other org involved (for a claim: the org claimed from)
	User      UserID        // the user concerned, if any
	Recipient string        // the address of a notification (notify.*)
	Content   int           // content items moved or lost (content.*)
	Mode      Mode          // the claim's mode (claim.*, notify.claim)
	Action    Action        // the choice (claim.resolved, claim.expired)
	Retention time.Duration // the receiving org's retention (content.migrated)
	Detail    string        // free text: a domain, a reason, the days left
	// Subscriber is the BroadWorks subscriber concerned (bw.subscriber_*,
	// bw.consent, notify.bw_*).
	Subscriber SubscriberID
}

// The event types. More may be added; these keep their meaning.
const (
	EventOrgCreated         = "org.created"
	EventOrgDeleted         = "org.deleted"
	EventOrgSettingsChanged = "org.settings_changed"

	EventDomainVerificationStarted = "domain.verification_started"
	EventDomainVerified            = "domain.verified"
	EventDomainUnverified          = "domain.unverified"
	EventDomainClaimed             = "domain.claimed"
	EventDomainReleased            = "domain.released"

	EventUserAdded        = "user.added"
	EventUserVerified     = "user.verified"
	EventUserSignedIn     = "user.signed_in"
	EventUserDeactivated  = "user.deactivated"
	EventUserReactivated  = "user.reactivated"
	EventUserDeleted      = "user.deleted"
	EventUserPurged       = "user.purged"
	EventUserPromoted     = "user.promoted"
	EventUserEmailChanged = "user.email_changed"

	EventClaimCreated   = "claim.created"
	EventClaimRetracted = "claim.retracted"
	EventClaimResolved  = "claim.resolved"
	EventClaimExpired   = "claim.expired"

	EventContentMigrated  = "content.migrated"
	EventContentDeleted   = "content.deleted"
	EventOriginalReleased = "original.released"

	EventNotifyClaim      = "notify.claim"
	EventNotifyActivation = "notify.activation"
	EventNotifyReminder   = "notify.reminder"

	EventDirectorySynced = "directory.synced"
)
