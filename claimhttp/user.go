package claimhttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/claimkit/claim"
)

// UserOptions configure NewUserHandler.
type UserOptions struct {
	// User returns the claimed user who made the request: the host
	// authenticates the user (the handler does none) and names its
	// account. An error refuses the request with a 403 problem. Required.
	User func(*http.Request) (claim.UserID, error)
	// Logger as in Options.
	Logger *slog.Logger
	// MaxBodyBytes bounds a JSON body (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
}

// NewUserHandler returns the http.Handler of the claimed user's side,
// for the host to mount behind its own user authentication:
//
//	GET  /me            the user (claim.User)
//	POST /me/sign-in    signs the user in (claim.Service.SignIn)
//	GET  /me/days-left  the days left of its pending claim
//	POST /me/choice     its choice about the original account (claim.Choice)
//
// Every route acts on the user opts.User names and on no other. Errors
// are problems as in NewHandler.
func NewUserHandler(svc *claim.Service, opts UserOptions) (http.Handler, error) {
	if svc == nil {
		return nil, errors.New("claimhttp: NewUserHandler needs a Service")
	}
	if opts.User == nil {
		return nil, errors.New("claimhttp: UserOptions.User is required: it says which user a request acts for")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	rt := newRouter(opts.Logger)
	do := func(f func(w http.ResponseWriter, r *http.Request, id claim.UserID) (any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := opts.User(r)
			if err != nil || id == "" {
				opts.Logger.Info("caller is no user", "request_id", RequestID(r.Context()), "err", err)
				WriteProblem(w, r, opts.Logger, &requestError{code: CodeForbidden, detail: "the caller is no user"})
				return
			}
			v, err := f(w, r, id)
			if err != nil {
				WriteProblem(w, r, opts.Logger, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
		}
	}
	user := func(f func(context.Context, claim.UserID) (claim.User, error)) http.HandlerFunc {
		return do(func(_ http.ResponseWriter, r *http.Request, id claim.UserID) (any, error) { return f(r.Context(), id) })
	}
	type m = map[string]http.HandlerFunc
	rt.handle("/openapi.json", m{http.MethodGet: serveOpenAPI})
	rt.handle("/me", m{http.MethodGet: user(svc.User)})
	rt.handle("/me/sign-in", m{http.MethodPost: user(svc.SignIn)})
	rt.handle("/me/days-left", m{http.MethodGet: do(func(_ http.ResponseWriter, r *http.Request, id claim.UserID) (any, error) {
		n, err := svc.DaysLeft(r.Context(), id)
		return DaysLeft{User: id, Days: n}, err
	})})
	rt.handle("/me/choice", m{http.MethodPost: do(func(w http.ResponseWriter, r *http.Request, id claim.UserID) (any, error) {
		var ch claim.Choice
		if err := decodeJSON(w, r, opts.MaxBodyBytes, &ch); err != nil {
			return nil, err
		}
		return svc.Choose(r.Context(), id, ch)
	})})
	return rt, nil
}
