package claimhttp_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/claimkit/claim/claimhttp"
)

// TestOpenAPIServed: both handlers serve the embedded document at
// /openapi.json, and it loads as a valid OpenAPI 3.1 document.
func TestOpenAPIServed(t *testing.T) {
	w := newWorld(t, "memory", claimhttp.Options{})
	openAPIValidator(t)
	for _, h := range []http.Handler{w.admin, w.user} {
		r := serve(t, h, "GET", "/openapi.json", nil)
		if r.status != 200 || !bytes.Equal(r.body, claimhttp.OpenAPI()) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET /openapi.json: %d %s, %d bytes", r.status, r.header.Get("Content-Type"), len(r.body))
		}
	}
	if !bytes.Contains(claimhttp.OpenAPI(), []byte(`"openapi": "3.1.0"`)) {
		t.Error("the document is not OpenAPI 3.1")
	}
}

// TestOpenAPIValidatorCatchesDrift: the validation that checks every
// response of the suite refuses responses that differ from the document,
// so it can fail: a missing required member, an unknown member, a wrong
// type, an undocumented content type, a problem without its code.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	for _, c := range []struct {
		name, target string
		status       int
		header       http.Header
		body         string
	}{
		{"missing member", "/days-left", 200, json, `{"user":"u1"}`},
		{"unknown member", "/policy", 200, json, `{"listLimit":1,"manualLimit":1,"claimWindowDays":14,"maxPageLimit":1000,"extra":1}`},
		{"wrong type", "/nudges", 200, json, `{"sent":"two"}`},
		{"undocumented content type", "/nudges", 200, http.Header{"Content-Type": {"text/plain"}}, `2`},
		{"problem without code", "/org", 404, problem, `{"type":"urn:claimkit:problem:not_found","title":"Not found","status":404}`},
		{"problem with a foreign type", "/org", 404, problem, `{"type":"about:blank","title":"Not found","status":404,"code":"not_found"}`},
		{"state not a state", "/me", 200, json, `{"ID":"u","Email":"a@b.c","Org":"o","State":"Asleep","CreatedAt":"2026-03-02T09:00:00Z","Claim":null,"HeldBy":""}`},
		{"undocumented route", "/nowhere", 404, problem, `{"type":"urn:claimkit:problem:not_found","title":"Not found","status":404,"code":"not_found"}`},
	} {
		target := c.target
		if target == "/days-left" {
			target = "/users/u1/days-left"
		}
		req := httptest.NewRequest("GET", target, nil)
		if c.target == "/nudges" {
			req = httptest.NewRequest("POST", target, nil)
		}
		if msgs := responseErrors(t, req, c.status, c.header, []byte(c.body)); len(msgs) == 0 {
			t.Errorf("%s: the validator accepted %s", c.name, c.body)
		}
	}
}
