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
	caller := func(c *call) error {
		id, err := opts.User(c.r)
		if err != nil || id == "" {
			return forbidden("the caller is no user", err)
		}
		c.user = id
		return nil
	}
	do := func(f func(c *call) error) http.HandlerFunc { return serve(opts.Logger, caller, f) }
	user := func(f func(context.Context, claim.UserID) (claim.User, error)) http.HandlerFunc {
		return do(func(c *call) error { return c.reply(f(c.ctx, c.user)) })
	}
	type m = map[string]http.HandlerFunc
	rt.handle("/openapi.json", m{http.MethodGet: serveOpenAPI})
	rt.handle("/me", m{http.MethodGet: user(svc.User)})
	rt.handle("/me/sign-in", m{http.MethodPost: user(svc.SignIn)})
	rt.handle("/me/days-left", m{http.MethodGet: do(func(c *call) error {
		n, err := svc.DaysLeft(c.ctx, c.user)
		return c.reply(DaysLeft{User: c.user, Days: n}, err)
	})})
	rt.handle("/me/choice", m{http.MethodPost: do(func(c *call) error {
		var ch claim.Choice
		if err := decodeJSON(c.w, c.r, opts.MaxBodyBytes, &ch); err != nil {
			return err
		}
		return c.reply(svc.Choose(c.ctx, c.user, ch))
	})})
	return rt, nil
}
