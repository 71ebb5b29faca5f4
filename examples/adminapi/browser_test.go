package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/claimkit/claim"
)

// chromium returns the path of Debian's chromium, or "" when it is not
// installed. The test fails instead of skipping when
// CLAIM_REQUIRE_BROWSER=1 (as .ci/run sets it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CLAIM_REQUIRE_BROWSER") == "1" {
		t.Fatal("CLAIM_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium installed; set CLAIM_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// serveDemo serves adminapi's handler on the demo data set on a port of
// 127.0.0.1 until the test ends, and returns its URL and the service.
func serveDemo(t *testing.T) (string, *claim.Service) {
	t.Helper()
	svc, err := demo(t.Context(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := newServer(svc, "acme", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String() + "/", svc
}

// TestConsoleInChromium loads the console in headless chromium and goes
// through Control Hub's claim wizard: the claimable list shows domain and status;
// the claim buttons wait for the acknowledgement; two addresses are
// claimed, one refused with its reason; a user selected in the list is
// claimed; the pending claims show the days left and one is retracted; a
// CSV import shows its progress and report; the event log follows live.
// A screenshot is kept in the test's artifact directory (go test
// -artifacts keeps it under -outputdir).
func TestConsoleInChromium(t *testing.T) {
	exe := chromium(t)
	url, svc := serveDemo(t)
	ctx := t.Context()
	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.WindowSize(1400, 1100))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	csvFile := filepath.Join(t.TempDir(), "claims.csv")
	csvBody := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim\n" +
		",,,cy@acme.example,Not Verified,Delayed,TRUE\n" +
		",,,dora@acme.example,Not Verified,Delayed,TRUE\n" +
		",,,nobody@acme.example,Not Verified,Delayed,TRUE\n"
	if err := os.WriteFile(csvFile, []byte(csvBody), 0o600); err != nil {
		t.Fatal(err)
	}

	var bobID string
	for u, err := range svc.Users(ctx, "personal-2019") {
		if err != nil {
			t.Fatal(err)
		}
		if u.Email == "bob@acme.example" {
			bobID = string(u.ID)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	do("load the console", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))
	listText := text(`#claimable tbody`)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const a = document.querySelector("#addresses");
		a.value = "ann@acme.example\ndee@acme.example"; a.dispatchEvent(new Event("input")); return true })()`)); err != nil {
		t.Fatalf("type two addresses: %v", err)
	}
	disabledBefore, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector("#claimAddresses").disabled`))
	if err != nil {
		t.Fatal(err)
	}
	do("claim them with the acknowledgement", chromedp.Click(chromedp.CSS(`#ack`)), chromedp.Click(chromedp.CSS(`#claimAddresses`)),
		chromedp.WaitVisible(chromedp.CSS(`#results tr[data-input="dee@acme.example"][data-outcome="refused"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#results tr[data-input="ann@acme.example"][data-outcome="claimed"]`)))
	dee, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS(`#results tr[data-input="dee@acme.example"]`), "data-reasons"))
	if err != nil {
		t.Fatal(err)
	}
	deeReasons := dee.Value
	do("see ann pending", chromedp.WaitVisible(chromedp.CSS(`#pending tr[data-email="ann@acme.example"]`)))
	annDays := text(`#pending tr[data-email="ann@acme.example"] .days`)
	do("select bob in the list and claim him",
		chromedp.WaitVisible(chromedp.CSS(`#claimable tr[data-email="bob@acme.example"] input.pick`)),
		chromedp.Click(chromedp.CSS(`#claimable tr[data-email="bob@acme.example"] input.pick`)),
		chromedp.Click(chromedp.CSS(`#ack`)), chromedp.Click(chromedp.CSS(`#claimSelected`)),
		chromedp.WaitVisible(chromedp.CSS(`#results tr[data-input="`+bobID+`"][data-outcome="claimed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pending tr[data-email="bob@acme.example"]`)))
	do("retract ann", chromedp.Click(chromedp.CSS(`#pending tr[data-email="ann@acme.example"] button.retract`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#pending tr[data-email="ann@acme.example"]`)))
	do("import a CSV", chromedp.SetUploadFiles(chromedp.CSS(`#csvFile`), []string{csvFile}), chromedp.Click(chromedp.CSS(`#ack`)), chromedp.Click(chromedp.CSS(`#importBtn`)),
		chromedp.WaitVisible(chromedp.CSS(`#summary`)))
	summary, progress := text(`#summary`), text(`#progress`)
	do("see dora pending", chromedp.WaitVisible(chromedp.CSS(`#pending tr[data-email="dora@acme.example"]`)))

	// The event log follows: the retraction and the claims show up.
	var events string
	for deadline := time.Now().Add(30 * time.Second); ; {
		events = text(`#events`)
		if strings.Contains(events, "claim.retracted") && strings.Count(events, "claim.created") >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), "console.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	for _, want := range []string{"ann@acme.example", "acme.example", "Not Verified", "Delayed"} {
		if !strings.Contains(listText, want) {
			t.Errorf("the claimable list lacks %q:\n%s", want, listText)
		}
	}
	if strings.Contains(listText, "dee@acme.example") || strings.Contains(listText, "hal@elsewhere.example") {
		t.Errorf("the claimable list shows users acme cannot claim:\n%s", listText)
	}
	if !disabledBefore {
		t.Error("the claim button was enabled before the acknowledgement")
	}
	if deeReasons != "source_sso" {
		t.Errorf("dee refused for %q, want source_sso", deeReasons)
	}
	if annDays != "14" {
		t.Errorf("ann's days left %q, want 14", annDays)
	}
	if summary != "Claimed 2, refused 1, skipped 0" || !strings.Contains(progress, "3 rows processed") {
		t.Errorf("import summary %q, progress %q", summary, progress)
	}
	if !strings.Contains(events, "claim.retracted") || strings.Count(events, "claim.created") < 4 {
		t.Errorf("the event log did not follow:\n%s", events)
	}
	// What the console did is what the Service holds.
	for email, org := range map[string]claim.OrgID{"ann@acme.example": "personal-2019", "bob@acme.example": "acme",
		"cy@acme.example": "acme", "dora@acme.example": "acme", "dee@acme.example": "initech"} {
		if u, err := svc.UserByEmail(ctx, email); err != nil || u.Org != org {
			t.Errorf("%s is in %q (%v), want %q", email, u.Org, err, org)
		}
	}
}
