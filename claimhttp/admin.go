package claimhttp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/claimkit/claim"
)

// Options configure NewHandler.
type Options struct {
	// Org returns the org whose administrator made the request: the host
	// authenticates the caller (the handler does no authentication) and
	// says which org it administers. An error refuses the request with a
	// 403 problem (its message is logged, not sent). Required.
	Org func(*http.Request) (claim.OrgID, error)
	// Logger receives a line per refused request and per panic, each with
	// the request's ID; slog.Default() when nil.
	Logger *slog.Logger
	// MaxBodyBytes bounds a JSON request body (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// MaxUploadBytes bounds a CSV import or a directory sync body
	// (DefaultMaxUploadBytes when 0). Both are read as a stream: an import
	// into a temporary file (os.TempDir), a sync into its entries, so that
	// an upload over the limit or cut short changes nothing.
	MaxUploadBytes int64
	// MaxWait bounds the long poll of GET /events?wait= (DefaultMaxWait
	// when 0).
	MaxWait time.Duration
	// AllowSweep serves POST /sweep. The sweep resolves every org's
	// expired claims and purges, so it is off by default: most hosts run
	// it on a schedule, not at an administrator's request.
	AllowSweep bool
}

// admin serves the admin routes.
type admin struct {
	svc  *claim.Service
	opts Options
	rt   *router
	// policyInfo is the body of GET /policy: the Service's policy does
	// not change.
	policyInfo PolicyInfo
	// domainActions are the Service's functions of POST
	// /domains/{domain}/{action}, by action.
	domainActions map[string]func(context.Context, claim.OrgID, string) error
}

// NewHandler returns the http.Handler of the admin API over svc, with
// its routes at the root (mount it with http.StripPrefix under a prefix).
// Every route acts for the org opts.Org names, and for no other: IDs of
// users or domains outside that org are not found, except as the claim
// rules allow (claiming another org's users on a verified domain,
// eligibility of an address). The routes, their bodies and their
// problems are in the OpenAPI document the handler serves at
// /openapi.json (OpenAPI).
//
// Set the host's http.Server timeouts: ReadHeaderTimeout (10 s, say);
// ReadTimeout long enough for the largest upload (or 0 with a per-request
// deadline); WriteTimeout 0 or above Options.MaxWait plus the time of the
// largest export, since GET /events waits and GET /export.csv streams;
// IdleTimeout (2 min, say). A request whose client goes away is cancelled
// through its context, and the Service leaves no trace of a cancelled
// operation.
func NewHandler(svc *claim.Service, opts Options) (http.Handler, error) {
	if svc == nil {
		return nil, errors.New("claimhttp: NewHandler needs a Service")
	}
	if opts.Org == nil {
		return nil, errors.New("claimhttp: Options.Org is required: it says which org a request acts for")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	p := svc.Policy()
	a := &admin{svc: svc, opts: opts, rt: newRouter(opts.Logger),
		policyInfo: PolicyInfo{ListLimit: p.ListLimit, ManualLimit: p.ManualLimit,
			ClaimWindowDays: int(p.ClaimWindow / (24 * time.Hour)), MaxPageLimit: claim.MaxPageLimit},
		domainActions: map[string]func(context.Context, claim.OrgID, string) error{
			"confirm":  svc.ConfirmDomain,
			"claim":    svc.ClaimDomain,
			"release":  svc.ReleaseDomain,
			"unverify": svc.UnverifyDomain,
		},
	}
	type m = map[string]http.HandlerFunc
	get, post := http.MethodGet, http.MethodPost
	rt := a.rt
	rt.handle("/openapi.json", m{get: serveOpenAPI})
	rt.handle("/policy", m{get: a.do(a.policy)})
	rt.handle("/org", m{get: a.do(a.org)})
	rt.handle("/org/settings", m{http.MethodPut: a.do(a.settings)})
	rt.handle("/domains", m{get: a.do(a.domains)})
	rt.handle("/domains/{domain}/verification", m{post: a.do(a.startVerification)})
	rt.handle("/domains/{domain}/{action}", m{post: a.do(a.domainAction)})
	rt.handle("/users", m{get: a.do(a.users)})
	rt.handle("/users/{id}", m{get: a.do(a.user)})
	rt.handle("/users/{id}/days-left", m{get: a.do(a.daysLeft)})
	rt.handle("/users/{id}/retract", m{post: a.do(a.retract)})
	rt.handle("/claimable", m{get: a.do(a.claimable)})
	rt.handle("/eligibility", m{get: a.do(a.eligibility)})
	rt.handle("/claims", m{post: a.do(a.claimUsers)})
	rt.handle("/claims/by-email", m{post: a.do(a.claimEmails)})
	rt.handle("/retractable", m{get: a.do(a.retractable)})
	rt.handle("/reminders", m{post: a.do(a.remind)})
	rt.handle("/nudges", m{post: a.do(a.nudge)})
	rt.handle("/export.csv", m{get: a.do(a.export)})
	rt.handle("/import", m{post: a.do(a.importCSV)})
	rt.handle("/sync", m{post: a.do(a.sync)})
	rt.handle("/events", m{get: a.do(a.events)})
	if opts.AllowSweep {
		rt.handle("/sweep", m{post: a.do(a.sweep)})
	}
	return rt, nil
}

// do adapts a route's function: the call is for the org Options.Org
// names, and the route's error is written as a problem.
func (a *admin) do(f func(c *call) error) http.HandlerFunc {
	return serve(a.opts.Logger, a.caller, f)
}

// caller sets the call's org, the one Options.Org names, or refuses the
// call (the host's error is logged, not sent).
func (a *admin) caller(c *call) error {
	org, err := a.opts.Org(c.r)
	if err != nil || org == "" {
		return forbidden("the caller administers no organization", err)
	}
	c.org = org
	return nil
}

// PolicyInfo is what a console needs of the Service's policy.
type PolicyInfo struct {
	ListLimit       int `json:"listLimit"`       // the most user IDs of one POST /claims
	ManualLimit     int `json:"manualLimit"`     // the most addresses of one POST /claims/by-email
	ClaimWindowDays int `json:"claimWindowDays"` // the days a claim can be retracted
	MaxPageLimit    int `json:"maxPageLimit"`    // the largest limit of a listing
}

func (a *admin) policy(c *call) error {
	return c.reply(a.policyInfo, nil)
}

func (a *admin) org(c *call) error {
	return c.reply(a.svc.Org(c.ctx, c.org))
}

func (a *admin) settings(c *call) error {
	var st claim.Settings
	if err := decodeJSON(c.w, c.r, a.opts.MaxBodyBytes, &st); err != nil {
		return err
	}
	if err := a.svc.UpdateSettings(c.ctx, c.org, st); err != nil {
		return err
	}
	return a.org(c)
}

func (a *admin) domains(c *call) error {
	ds, err := a.svc.Domains(c.ctx, c.org)
	return c.reply(map[string]any{"domains": orEmpty(ds)}, err)
}

// VerificationStarted is the body of POST /domains/{domain}/verification.
type VerificationStarted struct {
	Domain string `json:"domain"` // the domain as given
	Token  string `json:"token"`  // the TXT record value to publish
}

func (a *admin) startVerification(c *call) error {
	d := c.r.PathValue("domain")
	tok, err := a.svc.StartDomainVerification(c.ctx, c.org, d)
	return c.reply(VerificationStarted{Domain: d, Token: tok}, err)
}

// domainAction serves POST /domains/{domain}/confirm, claim, release and unverify.
func (a *admin) domainAction(c *call) error {
	act := c.r.PathValue("action")
	f, ok := a.domainActions[act]
	if !ok {
		return &requestError{code: CodeRouteNotFound, field: "action", value: act,
			detail: "a domain's actions are verification, confirm, claim, release and unverify"}
	}
	return c.done(f(c.ctx, c.org, c.r.PathValue("domain")))
}

// listOptions reads after, limit and (when states) state parameters.
func listOptions(r *http.Request, states bool) (claim.ListOptions, error) {
	var o claim.ListOptions
	o.After = r.URL.Query().Get("after")
	var err error
	if o.Limit, err = queryInt(r, "limit"); err != nil {
		return o, err
	}
	if !states {
		return o, nil
	}
	for _, s := range r.URL.Query()["state"] {
		st, err := claim.ParseState(s)
		if err != nil {
			return o, err
		}
		o.States = append(o.States, st)
	}
	return o, nil
}

func (a *admin) users(c *call) error {
	o, err := listOptions(c.r, true)
	if err != nil {
		return err
	}
	return c.reply(a.svc.UsersPage(c.ctx, c.org, o))
}

// ownUser returns the user of the path's {id} when it belongs to the
// caller's org; ErrNotFound otherwise, as for a user that does not exist.
func (a *admin) ownUser(c *call) (claim.User, error) {
	id := claim.UserID(c.r.PathValue("id"))
	u, err := a.svc.User(c.ctx, id)
	if err == nil && u.Org != c.org {
		err = notFound(id)
	}
	return u, err
}

// notFound is the error of a user the caller may not see: the text the
// Service gives for a user that does not exist, so the two cannot be told
// apart.
func notFound(id claim.UserID) error {
	return fmt.Errorf("claim: user %q: %w", id, claim.ErrNotFound)
}

func (a *admin) user(c *call) error {
	return c.reply(a.ownUser(c))
}

// DaysLeft is the body of GET /users/{id}/days-left.
type DaysLeft struct {
	User claim.UserID `json:"user"`
	Days int          `json:"days"` // whole days left of the user's pending claim
}

func (a *admin) daysLeft(c *call) error {
	u, err := a.ownUser(c)
	if err != nil {
		return err
	}
	n, err := a.svc.DaysLeft(c.ctx, u.ID)
	return c.reply(DaysLeft{User: u.ID, Days: n}, err)
}

// retract retracts the claim of a user of the caller's org (a claimed
// user belongs to the claiming org): another org's user is not found,
// whether it exists or not.
func (a *admin) retract(c *call) error {
	u, err := a.ownUser(c)
	if err != nil {
		return err
	}
	return c.done(a.svc.Retract(c.ctx, c.org, u.ID))
}

func (a *admin) claimable(c *call) error {
	o, err := listOptions(c.r, false)
	if err != nil {
		return err
	}
	return c.reply(a.svc.ClaimablePage(c.ctx, c.org, o))
}

func (a *admin) retractable(c *call) error {
	o, err := listOptions(c.r, false)
	if err != nil {
		return err
	}
	return c.reply(a.svc.RetractablePage(c.ctx, c.org, o))
}

// Eligibility is the body of GET /eligibility.
type Eligibility struct {
	Email   string         `json:"email"`   // the address as given
	Reasons []claim.Reason `json:"reasons"` // empty: the org may claim the user now
}

func (a *admin) eligibility(c *call) error {
	email := c.r.URL.Query().Get("email")
	rs, err := a.svc.Eligibility(c.ctx, c.org, email)
	return c.reply(Eligibility{Email: email, Reasons: orEmpty(rs)}, err)
}

// ClaimRequest is the body of POST /claims (UserIDs) and POST
// /claims/by-email (Emails).
type ClaimRequest struct {
	UserIDs []claim.UserID `json:"userIds,omitempty"`
	Emails  []string       `json:"emails,omitempty"`
	// Acknowledge is the administrator's acknowledgement that claiming
	// has a long-term impact (K1); false refuses the whole request.
	Acknowledge   bool     `json:"acknowledge"`
	Licenses      []string `json:"licenses,omitempty"`
	ImmediateOnly bool     `json:"immediateOnly,omitempty"`
}

// ClaimResults is the body of a claim's answer: one result per input,
// in the order of the inputs.
type ClaimResults struct {
	Results []claim.Result `json:"results"`
}

// claimInput is the input list of ClaimRequest a claim route takes.
type claimInput int

const (
	byUserID claimInput = iota // POST /claims: UserIDs
	byEmail                    // POST /claims/by-email: Emails
)

func (a *admin) claimUsers(c *call) error {
	return a.claim(c, byUserID)
}

func (a *admin) claimEmails(c *call) error {
	return a.claim(c, byEmail)
}

// claim serves both claim routes; by is the input list the route takes,
// and a body with the other list is refused.
func (a *admin) claim(c *call, by claimInput) error {
	var req ClaimRequest
	if err := decodeJSON(c.w, c.r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	opts := claim.ClaimOptions{Acknowledge: req.Acknowledge, Licenses: req.Licenses, ImmediateOnly: req.ImmediateOnly}
	var rs []claim.Result
	var err error
	if by == byUserID {
		if req.Emails != nil {
			return badRequest("emails", "", "POST /claims takes userIds; addresses go to POST /claims/by-email")
		}
		rs, err = a.svc.ClaimUsers(c.ctx, c.org, req.UserIDs, opts)
	} else {
		if req.UserIDs != nil {
			return badRequest("userIds", "", "POST /claims/by-email takes emails; user IDs go to POST /claims")
		}
		rs, err = a.svc.ClaimEmails(c.ctx, c.org, req.Emails, opts)
	}
	return c.reply(ClaimResults{Results: orEmpty(rs)}, err)
}

// Count is the body of POST /reminders and POST /nudges.
type Count struct {
	Sent int `json:"sent"` // the notifications sent
}

func (a *admin) remind(c *call) error {
	n, err := a.svc.RemindDelayed(c.ctx, c.org)
	return c.reply(Count{Sent: n}, err)
}

func (a *admin) nudge(c *call) error {
	n, err := a.svc.NudgeUnverified(c.ctx, c.org)
	return c.reply(Count{Sent: n}, err)
}

// export streams the org's claimable users as CSV. An error before the
// first byte is a problem; after it, the response is cut short (the
// client sees a broken chunked body) and the error is logged.
func (a *admin) export(c *call) error {
	fw := &firstWrite{w: c.w, header: func(h http.Header) {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="claimable.csv"`)
		h.Set("Cache-Control", "no-store")
	}}
	bw := bufio.NewWriterSize(fw, 32<<10)
	err := a.svc.ExportClaimable(c.ctx, c.org, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil && fw.started {
		a.opts.Logger.Error("export cut short", "request_id", RequestID(c.ctx), "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// firstWrite sets the headers at the first write.
type firstWrite struct {
	w       http.ResponseWriter
	header  func(http.Header)
	started bool
}

func (f *firstWrite) Write(b []byte) (int, error) {
	if !f.started {
		f.started = true
		f.header(f.w.Header())
	}
	return f.w.Write(b)
}

// ImportProgress is one line of POST /import's application/x-ndjson
// answer: Progress while the rows go, then Report or Problem last.
type ImportProgress struct {
	Progress *int                `json:"progress,omitempty"` // rows read so far
	Report   *claim.ImportReport `json:"report,omitempty"`
	Problem  *Problem            `json:"problem,omitempty"`
}

// importCSV serves POST /import: a text/csv body of at most
// MaxUploadBytes, streamed to a temporary file, then into ImportClaims.
// The file is whole before the first row is claimed, so an upload over
// the limit or cut short claims nothing (ImportClaims commits batches as
// it reads). With Accept: application/x-ndjson the answer is a stream of
// ImportProgress lines; otherwise the report as JSON.
func (a *admin) importCSV(c *call) error {
	upload, err := openBody(c.w, c.r, a.opts.MaxUploadBytes, "text/csv")
	if err != nil {
		return err
	}
	var opts claim.ImportOptions
	if opts.Acknowledge, err = queryBool(c.r, "acknowledge"); err != nil {
		return err
	}
	if opts.DryRun, err = queryBool(c.r, "dryRun"); err != nil {
		return err
	}
	opts.Licenses = c.r.URL.Query()["license"]
	if !opts.Acknowledge { // refused before a byte is read: the Service says why
		_, err := a.svc.ImportClaims(c.ctx, c.org, strings.NewReader(""), opts)
		return err
	}
	body, err := spool(upload)
	if err != nil {
		return err
	}
	defer body.Close()
	stream := strings.Contains(c.r.Header.Get("Accept"), "application/x-ndjson")
	if !stream {
		rep, err := a.svc.ImportClaims(c.ctx, c.org, body, opts)
		return c.reply(rep, partial(err, rep))
	}
	c.w.Header().Set("Content-Type", "application/x-ndjson")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.w)
	enc := json.NewEncoder(c.w)
	opts.Progress = func(rows int) {
		_ = enc.Encode(ImportProgress{Progress: &rows})
		_ = rc.Flush()
	}
	rep, err := a.svc.ImportClaims(c.ctx, c.org, body, opts)
	if err != nil { // the 200 is sent: the problem is the stream's last line
		err = partial(err, rep)
		p := problemOf(c.r, err)
		logProblem(a.opts.Logger, "import failed", c.r, p, err)
		return enc.Encode(ImportProgress{Problem: &p})
	}
	return enc.Encode(ImportProgress{Report: &rep})
}

// spool copies limited to a temporary file and returns
// the file at its start, removed when closed. A read error is the
// limit's (*http.MaxBytesError), or a bad_request naming the body for
// any other (a body cut short, a client gone), as bodyError makes it.
func spool(limited io.Reader) (*spooled, error) {
	f, err := os.CreateTemp("", "claimhttp-import-*.csv")
	if err != nil {
		return nil, err
	}
	sp := &spooled{f}
	_, err = io.Copy(f, limited)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		sp.Close()
		return nil, bodyError(err, "", "the upload was cut short")
	}
	return sp, nil
}

// spooled is a temporary file removed when closed.
type spooled struct{ *os.File }

func (s *spooled) Close() error {
	err := s.File.Close()
	_ = os.Remove(s.Name())
	return err
}

// partialError is an import that failed after claiming some rows.
type partialError struct {
	error
	claimed int
}

func (e *partialError) Unwrap() error { return e.error }

// partial returns err, noting the rows rep claimed before it; nil if
// err is nil.
func partial(err error, rep claim.ImportReport) error {
	if err == nil || rep.Claimed == 0 {
		return err
	}
	return &partialError{err, rep.Claimed}
}

// sync serves POST /sync?dryRun=&full=&ignoreThreshold=: the body is
// application/x-ndjson, one claim.DirectoryEntry per line.
func (a *admin) sync(c *call) error {
	dec, err := jsonBody(c.w, c.r, a.opts.MaxUploadBytes, "application/x-ndjson")
	if err != nil {
		return err
	}
	var opts claim.SyncOptions
	if opts.DryRun, err = queryBool(c.r, "dryRun"); err != nil {
		return err
	}
	if opts.Full, err = queryBool(c.r, "full"); err != nil {
		return err
	}
	if opts.IgnoreThreshold, err = queryBool(c.r, "ignoreThreshold"); err != nil {
		return err
	}
	// The entries are decoded as they arrive, and kept: a store may run
	// the sync's transaction twice, and a full sync must see the whole
	// directory, so a body cut short syncs nothing.
	var entries []claim.DirectoryEntry
	for line := 1; ; line++ {
		var e claim.DirectoryEntry
		err := dec.Decode(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return bodyError(err, itoa(int64(line)), "entry "+itoa(int64(line))+" is not a directory entry")
		}
		entries = append(entries, e)
	}
	return c.reply(a.svc.SyncDirectory(c.ctx, c.org, entries, opts))
}

func (a *admin) sweep(c *call) error {
	return c.reply(a.svc.Sweep(c.ctx))
}

// EventPage is the body of GET /events: the org's events after the
// cursor, and the cursor to pass as after next.
type EventPage struct {
	Events []claim.Event `json:"events"`
	// Next is the sequence number of the last event read (the org's or
	// not); pass it as after. Equal to after when nothing was read.
	Next uint64 `json:"next"`
}

// events serves GET /events?after=&limit=&wait=: the events of the
// caller's org (Org or From is the org) after the cursor; with wait (a
// duration such as 25s, at most Options.MaxWait), a long poll that
// answers as soon as there is one, or an empty page when wait ends.
func (a *admin) events(c *call) error {
	q := c.r.URL.Query()
	var after uint64
	if s := q.Get("after"); s != "" {
		n, err := parseUint(s)
		if err != nil {
			return badRequest("after", s, "not an event sequence number")
		}
		after = n
	}
	limit, err := queryInt(c.r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = claim.DefaultPageLimit
	}
	if limit < 1 || limit > claim.MaxPageLimit {
		return badRequest("limit", itoa(int64(limit)), "must be between 1 and "+itoa(claim.MaxPageLimit))
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
			return badRequest("wait", s, "not a duration such as 25s")
		}
		wait = min(wait, a.opts.MaxWait)
	}
	ctx, cancel := context.WithTimeout(c.ctx, wait)
	defer cancel()
	p := EventPage{Events: []claim.Event{}, Next: after}
	for {
		// Read at most scan events of the log, the org's or not.
		const scan = 4096
		read := 0
		for e, err := range a.svc.Events(c.ctx, p.Next) {
			if err != nil {
				return err
			}
			p.Next = e.Seq
			if e.Org == c.org || e.From == c.org {
				p.Events = append(p.Events, e)
			}
			read++
			if len(p.Events) == limit || read == scan {
				break
			}
		}
		if len(p.Events) > 0 || read == scan || wait == 0 {
			break
		}
		if err := a.svc.WaitEvents(ctx, p.Next); err != nil {
			switch {
			case c.ctx.Err() != nil:
				return c.ctx.Err()
			case ctx.Err() == nil:
				return err // a read failed
			}
			break // the wait ended: an empty page
		}
	}
	return c.reply(p, nil)
}
