// Package claimhttp serves the claim workflow of a *claim.Service over
// HTTP: NewHandler for an org's administrators (orgs and settings,
// domains, users, claimable users and eligibility, claims by ID and by
// address, retraction, reminders, CSV export and import, directory sync,
// the event log with a long poll), and NewUserHandler for the claimed
// user's side (sign-in, choice). The library does no authentication: the
// host says which org a request's caller administers (Options.Org), or
// which user made it (UserOptions.User), and every route acts for that
// org or user alone.
//
// Errors are RFC 9457 problems (application/problem+json) with a stable
// type URI per error code (TypePrefix + claim.ErrorCode), the reasons of
// a refusal as codes, and the field and value of bad input; ProblemFor
// and WriteProblem give hosts with their own router the same mapping.
// The OpenAPI 3.1 document of both handlers is served at /openapi.json
// and returned by OpenAPI.
//
// The handlers are hardened as public endpoints: JSON bodies are bounded
// (Options.MaxBodyBytes) and checked (Content-Type, unknown fields,
// trailing data); CSV uploads and directory entries are read as streams
// with a bound of their own (Options.MaxUploadBytes); a panic is logged
// with its stack and answered with a bare 500 problem; every request gets
// an ID (its X-Request-ID when sane), echoed in the X-Request-ID header,
// in problems' instance and in the log lines; a state-changing request a
// browser sends from another origin is refused (403 forbidden, the
// standard library's CrossOriginProtection), so a page on another site
// cannot post to an admin's console. Timeouts belong to the
// host's http.Server; NewHandler says which.
package claimhttp
