package claimhttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/claimkit/claim"
)

// TypePrefix begins the type URI of every problem the handlers write:
// TypePrefix + the error's code (claim.ErrorCode), e.g.
// "urn:claimkit:problem:not_eligible". The URIs never change meaning.
const TypePrefix = "urn:claimkit:problem:"

// Problem is an RFC 9457 problem details object, written as
// application/problem+json. Type, Title and Status depend on the error's
// code alone; the other members say more about this occurrence.
type Problem struct {
	Type   string `json:"type"`             // TypePrefix + Code
	Title  string `json:"title"`            // a short summary of the code
	Status int    `json:"status"`           // the HTTP status
	Detail string `json:"detail,omitempty"` // this occurrence, for a person to read
	// Instance is the request's ID (the X-Request-ID it had or was given),
	// as a URN, so a report can be matched with the logs.
	Instance string `json:"instance,omitempty"`
	// Code is claim.ErrorCode of the error, or one of the codes of this
	// package (bad_request, unsupported_media_type, body_too_large,
	// method_not_allowed, route_not_found, forbidden, internal).
	Code string `json:"code"`
	// Reasons are the codes of a refusal: the eligibility reasons of a
	// *claim.RefusalError ("source_sso"), or the error codes of a
	// *claim.RetractError ("signed_in", "retract_window_closed").
	Reasons []string `json:"reasons,omitempty"`
	// Field and Value are those of a *claim.InputError, or the request
	// parameter the handler refused.
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// Claimed is how many rows a CSV import had claimed when it failed
	// part way (only for import).
	Claimed *int `json:"claimed,omitempty"`
}

// The codes of errors the handlers find before the Service is called.
const (
	CodeBadRequest       = "bad_request"            // a body or parameter that cannot be read
	CodeUnsupportedMedia = "unsupported_media_type" // a body of the wrong Content-Type
	CodeBodyTooLarge     = "body_too_large"         // a body over its limit
	CodeMethodNotAllowed = "method_not_allowed"     // a route without this method
	CodeRouteNotFound    = "route_not_found"        // no such route
	CodeForbidden        = "forbidden"              // the caller administers no org, or is no user
	CodeInternal         = "internal"               // an error the library does not name; details only in the log
)

// statusOf holds the status and title of each code.
var statusOf = map[string]struct {
	status int
	title  string
}{
	"not_found":               {http.StatusNotFound, "Not found"},
	"invalid_email":           {http.StatusBadRequest, "Invalid e-mail address"},
	"invalid_domain":          {http.StatusBadRequest, "Invalid domain name"},
	"invalid_value":           {http.StatusBadRequest, "Invalid value"},
	"not_acknowledged":        {http.StatusBadRequest, "Claim not acknowledged"},
	"too_many":                {http.StatusBadRequest, "Too many inputs"},
	"not_selected":            {http.StatusBadRequest, "Row not selected"},
	"email_taken":             {http.StatusConflict, "E-mail address already taken"},
	"duplicate":               {http.StatusConflict, "Duplicate"},
	"not_verified":            {http.StatusForbidden, "User not verified"},
	"inactive":                {http.StatusForbidden, "User inactive"},
	"held_by_claim":           {http.StatusConflict, "Account held by a pending claim"},
	"domain_not_verified":     {http.StatusConflict, "Domain not verified"},
	"domain_claimed_by_other": {http.StatusConflict, "Domain claimed by another organization"},
	"directory_sync_enabled":  {http.StatusConflict, "Directory synchronization is enabled"},
	"not_eligible":            {http.StatusConflict, "User not eligible for claim"},
	"not_claimant":            {http.StatusForbidden, "Not the claiming organization"},
	"signed_in":               {http.StatusConflict, "User has signed in since the claim"},
	"retract_window_closed":   {http.StatusConflict, "Retraction window closed"},
	"domain_claimed":          {http.StatusConflict, "Domain is claimed"},
	"choice_not_allowed":      {http.StatusConflict, "Choice not allowed"},
	"no_pending_claim":        {http.StatusConflict, "No pending claim"},
	"sync_threshold":          {http.StatusConflict, "Directory sync would deactivate too many users"},
	"pending_claims":          {http.StatusConflict, "Claims still pending"},
	"stale_mode":              {http.StatusConflict, "Claim mode no longer applies"},
	"already_claimed":         {http.StatusConflict, "User already claimed"},
	"conflict":                {http.StatusServiceUnavailable, "Transaction could not be committed; retry"},
	"outcome_unknown":         {http.StatusServiceUnavailable, "Outcome unknown; read again before retrying"},
	"use_attach":              {http.StatusConflict, "Use the attach flow"},
	"org_mapped":              {http.StatusConflict, "Organization already mapped"},
	"approval_required":       {http.StatusConflict, "Customer administrator's approval required"},
	"subscriber_status":       {http.StatusConflict, "Subscriber status does not allow this"},
	"not_attached":            {http.StatusConflict, "Enterprise not attached"},
	"enterprise_attached":     {http.StatusConflict, "A BroadWorks enterprise belongs to the organization"},
	"detach_blocked":          {http.StatusConflict, "BroadWorks workspaces, subscribers or pending users remain"},
	"canceled":                {499, "Request canceled"},
	"deadline_exceeded":       {http.StatusGatewayTimeout, "Deadline exceeded"},
	CodeBadRequest:            {http.StatusBadRequest, "Bad request"},
	CodeUnsupportedMedia:      {http.StatusUnsupportedMediaType, "Unsupported media type"},
	CodeBodyTooLarge:          {http.StatusRequestEntityTooLarge, "Request body too large"},
	CodeMethodNotAllowed:      {http.StatusMethodNotAllowed, "Method not allowed"},
	CodeRouteNotFound:         {http.StatusNotFound, "No such route"},
	CodeForbidden:             {http.StatusForbidden, "Forbidden"},
	CodeInternal:              {http.StatusInternalServerError, "Internal error"},
}

// requestError is an error the handler finds in a request: a code of
// this package, and the parameter it concerns. Its cause, if any, is
// logged and not sent: the problem's detail is detail alone.
type requestError struct {
	code, field, value, detail string
	cause                      error
}

func (e *requestError) Error() string {
	if e.cause != nil {
		return e.detail + ": " + e.cause.Error()
	}
	return e.detail
}

// forbidden returns the forbidden error of a caller the host's function
// refused with cause (nil when it named no one).
func forbidden(detail string, cause error) error {
	return &requestError{code: CodeForbidden, detail: detail, cause: cause}
}

// badRequest returns a bad_request error about field.
func badRequest(field, value, detail string) error {
	return &requestError{code: CodeBadRequest, field: field, value: value, detail: detail}
}

// ProblemFor returns the problem that describes err: the type, title and
// status of its code (claim.ErrorCode), its message as Detail, the
// reasons of a *claim.RefusalError or *claim.RetractError as codes, and
// the field and value of a *claim.InputError. An error the library does
// not name (code "unknown") becomes a 500 "internal" problem whose detail
// says nothing of err: log err yourself. Hosts with their own router use
// it, or WriteProblem, to answer as these handlers do.
func ProblemFor(err error) Problem {
	code := claim.ErrorCode(err)
	var p Problem
	if re, ok := errors.AsType[*requestError](err); ok {
		code = re.code
		p.Field, p.Value, p.Detail = re.field, re.value, re.detail
	}
	if me, ok := errors.AsType[*http.MaxBytesError](err); ok {
		code = CodeBodyTooLarge
		p.Detail = "the request body is over its limit of " + itoa(me.Limit) + " bytes"
	}
	if code == claim.ErrorCodeUnknown || code == "" {
		code = CodeInternal
	}
	s, ok := statusOf[code]
	if !ok { // a sentinel newer than this table: a server error until it is mapped
		s.status, s.title = http.StatusInternalServerError, code
	}
	p.Type, p.Title, p.Status, p.Code = TypePrefix+code, s.title, s.status, code
	if code == CodeInternal {
		p.Detail = "internal error; the request ID finds it in the server's log"
		return p
	}
	if p.Detail == "" {
		p.Detail = err.Error()
	}
	if pe, ok := errors.AsType[*partialError](err); ok {
		p.Claimed = &pe.claimed
	}
	if ie, ok := errors.AsType[*claim.InputError](err); ok {
		p.Field, p.Value = ie.Field, ie.Value
	}
	if re, ok := errors.AsType[*claim.RefusalError](err); ok {
		for _, r := range re.Reasons {
			p.Reasons = append(p.Reasons, string(r))
		}
	}
	if re, ok := errors.AsType[*claim.RetractError](err); ok {
		for _, r := range re.Reasons {
			p.Reasons = append(p.Reasons, claim.ErrorCode(r))
		}
	}
	return p
}

// WriteProblem writes ProblemFor(err) as application/problem+json with
// its status, the request's ID (RequestID) as Instance, and logs err with
// the request's ID at level Error for a 5xx status and Info otherwise
// (to logger; slog.Default() when nil). A 503 carries Retry-After: 1.
func WriteProblem(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	p := problemOf(r, err)
	logProblem(logger, "request refused", r, p, err)
	writeProblem(w, p)
}

// problemOf is ProblemFor(err) with r's ID as Instance.
func problemOf(r *http.Request, err error) Problem {
	p := ProblemFor(err)
	if id := RequestID(r.Context()); id != "" {
		p.Instance = "urn:claimkit:request:" + id
	}
	return p
}

// logProblem logs err, answered with p, as msg with the request's ID: at
// level Error for a 5xx status and Info otherwise (to logger;
// slog.Default() when nil). It is the one log line of a failed request.
func logProblem(logger *slog.Logger, msg string, r *http.Request, p Problem, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	level := slog.LevelInfo
	if p.Status >= 500 {
		level = slog.LevelError
	}
	logger.Log(r.Context(), level, msg, "request_id", RequestID(r.Context()), "method", r.Method,
		"path", r.URL.Path, "status", p.Status, "code", p.Code, "err", err.Error())
}

// writeProblem writes p as application/problem+json with its status.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

type requestIDKey struct{}

// RequestID returns the ID the handlers gave the request of ctx: its
// X-Request-ID header when that is 1 to 64 characters of [A-Za-z0-9._-],
// else a random one. Empty outside a request the handlers serve.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID reports whether a client's X-Request-ID may be reused.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// contextWithRequestID returns ctx carrying the request ID id.
func contextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}
