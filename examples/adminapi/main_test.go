package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeAndShutdown: adminapi serves the console, the API and the
// user side on the demo data set, and a SIGTERM-style cancellation shuts
// it down gracefully: a long poll running at that moment is answered
// before run returns nil.
func TestServeAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-grace", "20s"}, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	get := func(path string) (int, string, string) {
		t.Helper()
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	if code, ct, body := get("/"); code != 200 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "Claimable users") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("console: %d %s (it must load nothing from elsewhere)", code, ct)
	}
	if code, _, body := get("/api/org"); code != 200 || !strings.Contains(body, `"ID":"acme"`) {
		t.Errorf("GET /api/org: %d %s", code, body)
	}
	if code, _, body := get("/api/openapi.json"); code != 200 || !strings.Contains(body, `"openapi": "3.1.0"`) {
		t.Errorf("GET /api/openapi.json: %d", code)
	}
	if code, ct, _ := get("/user/me"); code != 403 || ct != "application/problem+json" {
		t.Errorf("GET /user/me without a user: %d %s", code, ct)
	}

	// A long poll in flight when the signal comes is let finish.
	polled := make(chan int, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/api/events?wait=1s&after=1000000")
		if err != nil {
			polled <- 0
			return
		}
		res.Body.Close()
		polled <- res.StatusCode
	}()
	time.Sleep(200 * time.Millisecond)
	cancel() // what SIGINT or SIGTERM does through signal.NotifyContext
	if err := <-done; err != nil {
		t.Errorf("run after the signal: %v", err)
	}
	if code := <-polled; code != 200 {
		t.Errorf("the long poll in flight got %d, want 200", code)
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// TestFlags: bad flags are refused.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-migrate"}, {"extra"}, {"-addr"}} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
