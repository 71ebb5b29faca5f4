package main

import (
	_ "embed"
	"net/http"
)

// consoleHTML is the console: one page of HTML and JavaScript, no build
// step, nothing loaded from elsewhere. It calls the API under api/.
//
//go:embed console.html
var consoleHTML []byte

// serveConsole serves the console page with a policy that lets it load
// nothing but itself and talk to nothing but this origin.
func serveConsole(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(consoleHTML)
}
