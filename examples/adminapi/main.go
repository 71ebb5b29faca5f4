// Command adminapi serves the claim admin API (package claimhttp) and a
// browser console for it. By default it works on the memory store with a
// demo data set; with -postgres DSN it works on a PostgreSQL store.
//
//	go run ./examples/adminapi                 # http://127.0.0.1:8080/
//	go run ./examples/adminapi -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable' -migrate -org acme
//
// The API is under /api/ (its OpenAPI document at /api/openapi.json); the
// claimed user's side under /user/, as the user the X-User header names;
// the console at /. It acts as the administrator of the org -org names:
// a demo stand-in for the host's own authentication, which is why it
// listens on 127.0.0.1 by default. SIGINT or SIGTERM shuts it down
// gracefully: it stops accepting, lets running requests finish (up to
// -grace), and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/claimkit/claim"
	"github.com/claimkit/claim/claimhttp"
	"github.com/claimkit/claim/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "adminapi:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	addr    string
	dsn     string
	migrate bool
	org     string
	grace   time.Duration
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("adminapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.dsn, "postgres", "", "PostgreSQL DSN of the store; empty: the memory store with a demo data set")
	fs.BoolVar(&c.migrate, "migrate", false, "create or update the PostgreSQL schema first (with -postgres)")
	fs.StringVar(&c.org, "org", "acme", "the org the console and the API act for")
	fs.DurationVar(&c.grace, "grace", 10*time.Second, "how long a shutdown waits for running requests")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.migrate && c.dsn == "" {
		return c, errors.New("-migrate needs -postgres")
	}
	return c, nil
}

// run serves until ctx ends, then shuts down gracefully. When ready is
// not nil it receives the address listened on once the server accepts.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var svc *claim.Service
	if c.dsn == "" {
		if svc, err = demo(ctx, logger); err != nil {
			return fmt.Errorf("demo data set: %w", err)
		}
	} else {
		st, err := postgres.Open(ctx, c.dsn)
		if err != nil {
			return err
		}
		defer st.Close()
		if c.migrate {
			if err := st.Migrate(ctx); err != nil {
				return err
			}
		}
		if svc, err = claim.New(st, claim.WithLogger(logger)); err != nil {
			return err
		}
	}
	h, err := newServer(svc, claim.OrgID(c.org), logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // a large CSV upload
		WriteTimeout:      0,               // the long poll and the export stream: bounded by claimhttp.Options.MaxWait and the export itself
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	logger.Info("serving", "addr", "http://"+ln.Addr().String()+"/", "org", c.org, "store", map[bool]string{true: "memory (demo)", false: "postgres"}[c.dsn == ""])
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newServer returns the handler of everything adminapi serves: the
// console at /, the admin API under /api/ acting for org, the user side
// under /user/ for the user the X-User header names.
func newServer(svc *claim.Service, org claim.OrgID, logger *slog.Logger) (http.Handler, error) {
	api, err := claimhttp.NewHandler(svc, claimhttp.Options{
		Org:        func(*http.Request) (claim.OrgID, error) { return org, nil },
		Logger:     logger,
		AllowSweep: true,
	})
	if err != nil {
		return nil, err
	}
	user, err := claimhttp.NewUserHandler(svc, claimhttp.UserOptions{
		User: func(r *http.Request) (claim.UserID, error) {
			if id := r.Header.Get("X-User"); id != "" {
				return claim.UserID(id), nil
			}
			return "", errors.New("no X-User header")
		},
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	mux.Handle("/user/", http.StripPrefix("/user", user))
	mux.HandleFunc("GET /{$}", serveConsole)
	return mux, nil
}
