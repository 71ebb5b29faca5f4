package claim_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claimkit/claim"
)

// TestExportTemplate (S2): the template is the export's header line alone,
// the same columns in the same order, the org's license columns included.
func TestExportTemplate(t *testing.T) {
	e := csvEnv(t)
	var buf bytes.Buffer
	if err := e.svc.ExportTemplate(e.ctx, "b", &buf); err != nil {
		t.Fatalf("ExportTemplate(b) = %v", err)
	}
	export := e.export(t, "b")
	header := export[:strings.IndexByte(export, '\n')+1]
	if diff := cmp.Diff(header, buf.String()); diff != "" {
		t.Errorf("template (-export's header +template):\n%s", diff)
	}
	if want := "First Name,Last Name,Display Name,User ID/Email (Required),User Status,Claim Type,Claim,Meetings,Calling\n"; buf.String() != want {
		t.Errorf("template = %q, want %q", buf.String(), want)
	}
}

// TestTemplateRoundTrip (S2): the template filled in by hand — addresses
// alone in any case, or with a Claim Type, a Claim cell and license cells
// — imports, and claims those users with the modes and licenses the
// cells ask for.
func TestTemplateRoundTrip(t *testing.T) {
	e := csvEnv(t)
	var buf bytes.Buffer
	if err := e.svc.ExportTemplate(e.ctx, "b", &buf); err != nil {
		t.Fatalf("ExportTemplate(b) = %v", err)
	}
	// First Name,Last Name,Display Name,Email,User Status,Claim Type,Claim,Meetings,Calling
	file := buf.String() +
		",,,ANN@example.com,,,,,\n" +
		",,,bob@example.com,,Immediate,TRUE,,FALSE\n" +
		"Cy,Young,,cy@example.com,,,,FALSE,\n" +
		",,,nobody@example.com,,,,,\n"
	rep, err := e.importString("b", file, claim.ImportOptions{})
	if err != nil {
		t.Fatalf("ImportClaims(filled template) = %v", err)
	}
	if rep.Claimed != 3 || rep.Refused != 1 || len(rep.UnknownColumns) != 0 {
		t.Errorf("report %+v, want 3 claimed, nobody@ refused, no unknown column", rep)
	}
	for _, w := range []struct {
		email    string
		mode     claim.Mode
		licenses []string
	}{
		{"ann@example.com", claim.Delayed, []string{"Meetings", "Calling"}},
		{"bob@example.com", claim.Immediate, []string{"Meetings"}},
		{"cy@example.com", claim.Delayed, []string{"Calling"}},
	} {
		u, err := e.svc.UserByEmail(e.ctx, w.email)
		if err != nil {
			t.Fatalf("UserByEmail(%s) = %v", w.email, err)
		}
		if u.Org != "b" || u.Claim == nil || u.Claim.Mode != w.mode || !cmp.Equal(u.Licenses, w.licenses) {
			t.Errorf("%s: org %s, claim %+v, licenses %v; want claimed by b, %v, %v", w.email, u.Org, u.Claim, u.Licenses, w.mode, w.licenses)
		}
	}
}
