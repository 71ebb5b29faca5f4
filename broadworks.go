package claim

// Webex for BroadWorks (rules B1–B6, docs/rules.md): a service
// provider (the partner) provisions the subscribers of its BroadWorks
// enterprises into Webex organizations, moves existing Webex users into
// them with the users' consent, attaches enterprises to existing customer
// orgs, and detaches them again. This file holds the types, errors and
// event types; the methods of BroadWorks are in a file per flow:
// broadworks_enterprise.go (enterprises, workspaces, org profiles),
// broadworks_provision.go (provisioning and attach),
// broadworks_activate.go (the user's steps and the retry),
// broadworks_detach.go (removal and detach), and the subscriber
// statuses as a table in broadworks_lifecycle.go.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// BroadWorks is the Webex for BroadWorks product of a Service (B1–B6).
// A partner, a service provider org, keeps its customers as BroadWorks
// enterprises (CreateEnterprise) and provisions each enterprise's
// subscribers, its BroadWorks users, into Webex (ProvisionSubscriber, or
// the user's own EnterEmail, SelfActivate, ValidateEmail and Consent).
// An enterprise belongs to one Webex org (B5), decided by its first
// subscriber's address: an org created for it, whose first subscriber
// becomes its administrator (B2), or an existing customer org the
// enterprise attaches to, automatically or once that org's admin
// approves (AddAdmin, RetrySubscriber; B3, B4). A user of a Consumer or
// Individual org moves into it only with consent (B1). Detach ends the
// mapping once the enterprise's workspaces and subscribers are gone
// (RemoveWorkspace, RemoveSubscriber; B6). Every method runs in a
// transaction of the Service's store, as the Service's own do; get one
// with Service.BroadWorks.
type BroadWorks struct{ s *Service }

// BroadWorks returns s's Webex for BroadWorks methods. It allocates
// nothing; every call returns the same *BroadWorks.
func (s *Service) BroadWorks() *BroadWorks { return &s.bw }

// EnterpriseID identifies a BroadWorks enterprise (the partner's customer
// in BroadWorks).
type EnterpriseID string

// SubscriberID identifies a BroadWorks subscriber: its BroadWorks user ID.
type SubscriberID string

// AttachMode is how an enterprise came to belong to its Webex org.
type AttachMode string

// The attach modes. The empty mode: the enterprise belongs to no org yet
// (or was detached).
const (
	// AttachNew: the first provisioning created the org (B2), or the
	// targeted customer org had no user with the first subscriber's address
	// and a new customer org was created instead (B4).
	AttachNew AttachMode = "new"
	// AttachAutomatic: attached to an existing customer org that needed no
	// approval (B3).
	AttachAutomatic AttachMode = "automatic"
	// AttachApproved: attached to an existing customer org after its admin
	// made the partner admin an external Full Admin (B3).
	AttachApproved AttachMode = "approved"
)

// Template is the partner's onboarding template an enterprise is
// provisioned with.
type Template struct {
	// PartnerAdmin is the partner administrator's address. A customer admin
	// approves an attach by adding exactly this address as an external Full
	// Admin (B3); an automatic attach makes it the partner's admin of the
	// org. Required.
	PartnerAdmin string
	// TrustedEmail: the addresses the partner provisions are trusted, so
	// the consent e-mail goes straight to them (B1). Otherwise each user
	// first proves its address through an activation link.
	TrustedEmail bool
	// NoAdminInvite turns off "Allow admin-invite emails when attaching to
	// existing orgs" (on by default): when an attach needs approval, the
	// customer org's Full Admins get no notify.admin_invite.
	NoAdminInvite bool
}

// BroadWorksEnterprise is a partner's BroadWorks enterprise and the Webex org it
// belongs to (B5).
type BroadWorksEnterprise struct {
	ID      EnterpriseID // unique, required
	Partner OrgID        // the partner org that provisions it
	// Name is the enterprise's name; an org created for it gets this name
	// (B2), an attached org keeps its own (B4).
	Name     string
	Template Template // the onboarding template
	// Target is the existing customer org (Enterprise kind) the partner
	// wants to attach the enterprise to; empty: a new org (B2).
	Target OrgID
	// Org is the Webex org the enterprise belongs to: empty until the
	// first subscriber's address is known (B2–B4), and again after a
	// hybrid detach (B6). One enterprise belongs to one org and one org
	// to one enterprise (B5): a Store refuses a second mapping with
	// ErrOrgMapped.
	Org        OrgID
	Attach     AttachMode // how it came to belong to Org; empty while Org is
	Workspaces []string   // BroadWorks workspaces, sorted (B6)
	CreatedAt  time.Time
}

// Flow is how a subscriber came to be provisioned (B1).
type Flow string

// The provisioning flows.
const (
	// FlowTrusted: the partner provisioned it with a trusted address;
	// the consent e-mail goes straight to it.
	FlowTrusted Flow = "trusted_email"
	// FlowUntrusted: the partner provisioned it without an address; the
	// user enters one through an activation link and validates it.
	FlowUntrusted Flow = "untrusted_email"
	// FlowSelfActivation: the user started from the user portal with
	// BroadWorks credentials and entered its address.
	FlowSelfActivation Flow = "self_activation"
)

// SubscriberStatus is a subscriber's provisioning status, named as Webex's
// provisioning API names it.
type SubscriberStatus string

// The statuses.
const (
	// StatusPendingEmailInput: untrusted flow; the activation link was
	// sent, the user has not entered an address yet.
	StatusPendingEmailInput SubscriberStatus = "pending_email_input"
	// StatusPendingEmailValidation: the user entered an address and the
	// validation e-mail ("Join Now") was sent to it.
	StatusPendingEmailValidation SubscriberStatus = "pending_email_validation"
	// StatusPendingUserMigration: the address belongs to an existing
	// account of a Consumer or Individual org; the user was told to delete
	// it (B1). Until it does, nothing of that account changes.
	StatusPendingUserMigration SubscriberStatus = "pending_user_migration"
	// StatusProvisioning: the bridge is creating the Webex account. The
	// Service does that in the transaction that decides it, so a stored
	// subscriber is never in this status; the event log records the step
	// (bw.subscriber_status) right before provisioned.
	StatusProvisioning SubscriberStatus = "provisioning"
	// StatusProvisioned: the subscriber has its Webex account (User).
	StatusProvisioned SubscriberStatus = "provisioned"
	// StatusError: provisioning stopped; Subscriber.Err says why (the
	// attach needs the customer admin's approval, B3). RetrySubscriber
	// starts it again.
	StatusError SubscriberStatus = "error"
)

// pending reports whether s is one of the pending_* statuses: a "pending
// user" of B6.
func (s SubscriberStatus) pending() bool {
	return s == StatusPendingEmailInput || s == StatusPendingEmailValidation || s == StatusPendingUserMigration
}

// Subscriber is a BroadWorks subscriber of an enterprise.
type Subscriber struct {
	ID         SubscriberID // the BroadWorks user ID; unique
	Enterprise EnterpriseID
	Flow       Flow
	// Email is the normalized address; empty while pending_email_input.
	// No two subscribers have the same address (a Store returns
	// ErrEmailTaken).
	Email     string
	FirstName string
	LastName  string
	Status    SubscriberStatus
	// Admin: this subscriber's provisioning created the org, so it becomes
	// its administrator when provisioned (B2).
	Admin bool
	// User is the Webex account once provisioned.
	User UserID
	// Old is the existing account of a Consumer or Individual org the
	// address belongs to, while pending_user_migration (B1).
	Old UserID
	// Reasons are why the attach needs approval, while Status is error
	// (B3); see Err.
	Reasons   []AttachReason
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Err returns nil unless the subscriber is in status error; then an
// *AttachError (errors.Is ErrApprovalRequired) with the reasons.
func (s Subscriber) Err() error {
	if s.Status != StatusError {
		return nil
	}
	return &AttachError{Enterprise: s.Enterprise, Reasons: slices.Clone(s.Reasons)}
}

// NewSubscriber is the input of ProvisionSubscriber and SelfActivate.
type NewSubscriber struct {
	ID        SubscriberID // the BroadWorks user ID, required
	Email     string       // see ProvisionSubscriber and SelfActivate
	FirstName string
	LastName  string
}

// AdminRole is an administrator's role in an org.
type AdminRole string

// The admin roles that matter to BroadWorks (B3).
const (
	// FullAdmin can see and change everything in the org.
	FullAdmin AdminRole = "full_admin"
	// ProvisioningAdmin can provision users but sees little of the org's
	// existing users.
	ProvisioningAdmin AdminRole = "provisioning_admin"
)

// Admin is one administrator of an org.
type Admin struct {
	Email string    // normalized address; at most one entry per address
	Role  AdminRole // FullAdmin or ProvisioningAdmin
	// Partner is the partner org an external admin acts for; empty for an
	// admin of the org itself.
	Partner OrgID
}

// LicenseStatus is the status of an org's license (subscription).
type LicenseStatus string

// The license statuses (B3).
const (
	LicenseActive    LicenseStatus = "active"
	LicenseSuspended LicenseStatus = "suspended"
	LicenseCancelled LicenseStatus = "cancelled"
)

// OrgLicense is one of an org's licenses.
type OrgLicense struct {
	Name   string // unique within the org
	Status LicenseStatus
}

// BroadWorksLicense is the org license an attach or a new BroadWorks org
// gets, Active; a standard detach cancels it (B6).
const BroadWorksLicense = "Webex for BroadWorks"

// OrgProfile is what Webex for BroadWorks looks at and changes about an
// org beyond the Org record: its administrators, its restricted admin
// mode and its licenses. An org with no profile has the zero one.
type OrgProfile struct {
	Org    OrgID
	Admins []Admin // sorted by Email
	// RestrictedAdminMode is "Restricted by Partner Mode"; an attach turns
	// it off (B4).
	RestrictedAdminMode bool
	Licenses            []OrgLicense // sorted by Name
}

// admin returns the admin entry with the address.
func (p OrgProfile) admin(email string) (Admin, bool) {
	i := slices.IndexFunc(p.Admins, func(a Admin) bool { return a.Email == email })
	if i < 0 {
		return Admin{}, false
	}
	return p.Admins[i], true
}

// putAdmin adds or replaces the entry with a's address, keeping Admins
// sorted.
func (p *OrgProfile) putAdmin(a Admin) {
	p.Admins = slices.DeleteFunc(slices.Clone(p.Admins), func(b Admin) bool { return b.Email == a.Email })
	i, _ := slices.BinarySearchFunc(p.Admins, a.Email, func(b Admin, e string) int { return strings.Compare(b.Email, e) })
	p.Admins = slices.Insert(p.Admins, i, a)
}

// putLicense adds or replaces the license with l's name, keeping Licenses
// sorted.
func (p *OrgProfile) putLicense(l OrgLicense) {
	p.Licenses = slices.DeleteFunc(slices.Clone(p.Licenses), func(m OrgLicense) bool { return m.Name == l.Name })
	i, _ := slices.BinarySearchFunc(p.Licenses, l.Name, func(m OrgLicense, n string) int { return strings.Compare(m.Name, n) })
	p.Licenses = slices.Insert(p.Licenses, i, l)
}

// DetachFlow is how an enterprise is detached from its org (B6).
type DetachFlow string

// The detach flows.
const (
	// DetachStandard deletes the enterprise's data, cancels the org's
	// BroadWorks subscription and removes the partner's admin access.
	DetachStandard DetachFlow = "standard"
	// DetachHybrid only ends the mapping: subscriptions and access stay.
	DetachHybrid DetachFlow = "hybrid"
)

// AttachReason is why attaching to an existing customer org needs its
// administrator's approval (B3).
type AttachReason string

// The attach reasons, in the order they are checked and reported.
const (
	ReasonManyUsers      AttachReason = "users_100_or_more" // the org has AttachApprovalUsers users or more
	ReasonVerifiedDomain AttachReason = "domain_verified"   // the org has a verified domain
	ReasonClaimedDomain  AttachReason = "domain_claimed"    // the org has claimed a domain
)

// AttachApprovalUsers is the number of users from which an attach needs
// approval (B3: "100 users or more").
const AttachApprovalUsers = 100

// Sentinel errors of Webex for BroadWorks.
var (
	// ErrUseAttach: the address belongs to a user of a customer
	// (Enterprise) org, which cannot be moved with consent; attach the
	// enterprise to that org instead (B1, B3).
	ErrUseAttach = errors.New("user belongs to a customer organization; use the attach flow")
	// ErrOrgMapped: the org already belongs to another enterprise, or the
	// enterprise to another org (B5).
	ErrOrgMapped = errors.New("one BroadWorks enterprise belongs to one Webex organization")
	// ErrApprovalRequired: the attach needs the customer admin's approval
	// (B3); the error is an *AttachError with the reasons.
	ErrApprovalRequired = errors.New("the customer organization's administrator must approve the attach")
	// ErrSubscriberStatus: the subscriber's status does not allow the
	// operation (B1).
	ErrSubscriberStatus = errors.New("subscriber status does not allow this")
	// ErrNotAttached: the enterprise belongs to no org, so there is
	// nothing to detach (B6).
	ErrNotAttached = errors.New("enterprise not attached to an organization")
	// ErrEnterpriseAttached: DeleteOrg refuses an org that a BroadWorks
	// enterprise belongs to, or a partner org one of whose enterprises
	// belongs to an org (B5, B6): detach the enterprise first.
	ErrEnterpriseAttached = errors.New("a BroadWorks enterprise belongs to the organization; detach it first")
	// ErrDetachBlocked: workspaces, subscribers or pending users remain;
	// the error is a *DetachError saying how many of each (B6).
	ErrDetachBlocked = errors.New("BroadWorks workspaces, subscribers or pending users remain")
)

// AttachError says why an attach needs the customer admin's approval
// (B3): every reason that applies, in the order of the Reason constants.
type AttachError struct {
	Enterprise EnterpriseID
	Org        OrgID // the customer org; empty when read from Subscriber.Err
	Reasons    []AttachReason
}

// Error says which enterprise needs approval, why, and what the customer
// admin does about it.
func (e *AttachError) Error() string {
	rs := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		rs[i] = string(r)
	}
	return fmt.Sprintf("claim: enterprise %s: %v (%s); the customer admin must add the partner admin as an external Full Admin, then retry",
		e.Enterprise, ErrApprovalRequired, strings.Join(rs, ", "))
}

// Unwrap returns ErrApprovalRequired.
func (e *AttachError) Unwrap() error { return ErrApprovalRequired }

// DetachError says what keeps an enterprise from being detached (B6).
type DetachError struct {
	Enterprise  EnterpriseID
	Workspaces  int // BroadWorks workspaces left
	Subscribers int // subscribers provisioned or in error
	Pending     int // subscribers in a pending_* status
}

// Error says what of the enterprise remains and that it must be removed
// first.
func (e *DetachError) Error() string {
	return fmt.Sprintf("claim: enterprise %s: %v: %d workspace(s), %d subscriber(s), %d pending user(s); remove them first",
		e.Enterprise, ErrDetachBlocked, e.Workspaces, e.Subscribers, e.Pending)
}

// Unwrap returns ErrDetachBlocked.
func (e *DetachError) Unwrap() error { return ErrDetachBlocked }

// Event types of Webex for BroadWorks. Subscriber events name the
// subscriber in Event.Subscriber.
const (
	EventEnterpriseCreated = "bw.enterprise_created" // Org: the partner; Detail: the enterprise ID
	EventEnterpriseDeleted = "bw.enterprise_deleted" // a standard detach deleted it (B6)
	// EventBWOrgCreated: a new org was created for the enterprise (B2, B4);
	// Org: it, From: the partner, Detail: the enterprise ID. (org.created
	// is written too.)
	EventBWOrgCreated = "bw.org_created"
	// EventAttached: the enterprise was attached to an existing customer
	// org (B3, B4); Detail: "automatic" or "approved".
	EventAttached = "bw.attached"
	// EventDetached: Detail: "standard" or "hybrid" (B6).
	EventDetached              = "bw.detached"
	EventAdminAdded            = "bw.admin_added"             // Recipient: the admin; Detail: the role
	EventAdminRemoved          = "bw.admin_removed"           // Recipient: the admin
	EventRestrictedModeChanged = "bw.restricted_mode_changed" // Detail: "on" or "off"
	EventLicensesChanged       = "bw.licenses_changed"        // an org's licenses were set
	EventSubscriptionCancelled = "bw.subscription_cancelled"  // the BroadWorks license, by a standard detach
	EventWorkspaceAdded        = "bw.workspace_added"         // Detail: the workspace
	EventWorkspaceRemoved      = "bw.workspace_removed"       // Detail: the workspace
	EventSubscriberAdded       = "bw.subscriber_added"        // Detail: the flow
	EventSubscriberStatus      = "bw.subscriber_status"       // Detail: the new status
	EventSubscriberRemoved     = "bw.subscriber_removed"      // Detail: its status then
	EventConsent               = "bw.consent"                 // the user deleted its old account (B1); User: that account
	EventNotifyConsent         = "notify.bw_consent"          // "delete your old account" (B1); Recipient set
	EventNotifyActivationLink  = "notify.bw_activation_link"  // the activation text; Recipient: the subscriber ID
	EventNotifyEmailValidation = "notify.bw_validation"       // "Join Now"; Recipient set
	EventNotifyAdminInvite     = "notify.admin_invite"        // the customer admin is asked to approve (B3); Recipient set
)
