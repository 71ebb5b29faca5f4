package claimhttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/claimkit/claim"
)

// Defaults of Options and UserOptions.
const (
	DefaultMaxBodyBytes   = 1 << 20  // 1 MiB: a JSON body
	DefaultMaxUploadBytes = 64 << 20 // 64 MiB: a CSV file or a directory
	DefaultMaxWait        = 30 * time.Second
)

// router serves a table of routes: the problem of a route that does not
// exist or lacks the method, request IDs, panic recovery.
type router struct {
	mux    *http.ServeMux
	logger *slog.Logger
	// origins refuses cross-origin state-changing requests from browsers
	// (Sec-Fetch-Site, Origin): the handlers' POSTs without a body carry
	// no Content-Type a cross-site form could not send.
	origins *http.CrossOriginProtection
}

// handle registers the methods of one path; the mux answers any other
// method with a method_not_allowed problem naming the allowed ones.
func (rt *router) handle(path string, methods map[string]http.HandlerFunc) {
	allowed := make([]string, 0, len(methods))
	for m := range methods {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	rt.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			WriteProblem(w, r, rt.logger, &requestError{code: CodeMethodNotAllowed, field: "method", value: r.Method,
				detail: "this route takes " + strings.Join(allowed, ", ")})
			return
		}
		h(w, r)
	})
}

// ServeHTTP gives the request its ID, recovers a panic into a 500
// problem (when nothing was written yet) and a log line with the stack,
// and logs the request's end.
func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-ID")
	if !validRequestID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	r = r.WithContext(contextWithRequestID(r.Context(), id))
	w.Header().Set("X-Request-ID", id)
	rw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			rt.logger.Error("panic serving request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rw.status == 0 { // the line above is the request's log line
				writeProblem(rw, problemOf(r, errors.New("panic")))
			}
			return
		}
		rt.logger.Debug("request served", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", rw.status, "duration", time.Since(start))
	}()
	if err := rt.origins.Check(r); err != nil {
		// A browser sent a state-changing request from another site (a
		// form posted to the console's address, say): refused before any
		// route runs, whatever the route reads of the body.
		WriteProblem(rw, r, rt.logger, &requestError{code: CodeForbidden, field: "Origin", value: r.Header.Get("Origin"),
			detail: "cross-origin request refused: " + err.Error()})
		return
	}
	rt.mux.ServeHTTP(rw, r)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed responses (export, import progress) reach the client.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRouter returns a router whose unknown routes get a route_not_found problem.
func newRouter(logger *slog.Logger) *router {
	rt := &router{mux: http.NewServeMux(), logger: logger, origins: http.NewCrossOriginProtection()}
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, rt.logger, &requestError{code: CodeRouteNotFound, field: "path", value: r.URL.Path,
			detail: "no route " + r.URL.Path})
	})
	return rt
}

// call is one request to a route, for the caller the host named.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	org  claim.OrgID  // the org of the caller (NewHandler)
	user claim.UserID // the caller (NewUserHandler)
}

// reply answers with v as JSON, or returns err for the route's problem:
// a route is the call of the Service and the shape of its answer,
// return c.reply(svc.Method(...)).
func (c *call) reply(v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, v)
	return nil
}

// done answers 204 No Content, or returns err for the route's problem.
func (c *call) done(err error) error {
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// serve adapts a route's function f: caller names the caller in the
// call, or refuses it with an error; the error of either is the
// request's problem, written (and logged once) by WriteProblem.
func serve(logger *slog.Logger, caller, f func(*call) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, ctx: r.Context()}
		err := caller(c)
		if err == nil {
			err = f(c)
		}
		if err != nil {
			WriteProblem(w, r, logger, err)
		}
	}
}

// orEmpty returns s, or an empty slice for nil, so that a list is
// written as [] and not null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// hasType reports whether r's Content-Type is one of types (parameters
// such as charset aside), or returns an unsupported_media_type error.
func hasType(r *http.Request, types ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range types {
			if mt == t {
				return nil
			}
		}
	}
	return &requestError{code: CodeUnsupportedMedia, field: "Content-Type", value: ct,
		detail: "the body must be " + strings.Join(types, " or ")}
}

// openBody returns r's body, cut at limit bytes, once its Content-Type
// is one of types and the length it declares is within limit: the checks
// of every route that reads a body, before any byte is read.
func openBody(w http.ResponseWriter, r *http.Request, limit int64, types ...string) (io.Reader, error) {
	if err := hasType(r, types...); err != nil {
		return nil, err
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return http.MaxBytesReader(w, r.Body, limit), nil
}

// jsonBody is openBody of a body of JSON values of type ctype, as a
// decoder that refuses unknown fields.
func jsonBody(w http.ResponseWriter, r *http.Request, limit int64, ctype string) (*json.Decoder, error) {
	body, err := openBody(w, r, limit, ctype)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	return dec, nil
}

// bodyError returns the error of reading a body: the limit's
// (*http.MaxBytesError) when the body is over it, else a bad_request of
// the body with value, detail and err's message.
func bodyError(err error, value, detail string) error {
	if me, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return me
	}
	return badRequest("body", value, detail+": "+err.Error())
}

// decodeJSON reads r's body, application/json of at most limit bytes,
// into v: unknown fields and trailing data are refused.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec, err := jsonBody(w, r, limit, "application/json")
	if err != nil {
		return err
	}
	if err := dec.Decode(v); err != nil {
		return bodyError(err, "", "the body is not the JSON this route takes")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body", "", "the body holds more than one JSON value")
	}
	return nil
}

// writeJSON writes v as application/json with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// queryInt reads an optional integer parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest(name, s, "not an integer")
	}
	return n, nil
}

// queryBool reads an optional boolean parameter ("true" or "false").
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest(name, s, "not true or false")
	}
	return b, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func parseUint(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
