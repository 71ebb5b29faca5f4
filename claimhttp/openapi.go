package claimhttp

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the admin routes and of the
// user routes (/me), as both handlers serve it at /openapi.json. The
// caller may keep or change the slice: it is a copy.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// serveOpenAPI serves the document.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPI)
}
