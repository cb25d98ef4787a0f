package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/examples/internal/demo"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func online(t *testing.T, srv *prefactortest.Server, token string) {
	t.Setenv("PREFACTOR_API_TOKEN", token)
	t.Setenv("PREFACTOR_API_URL", srv.URL())
}

const day = demo.Day

var at = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)

func auditTokens() []prefactor.APIToken {
	tok := func(id string, st prefactor.TokenStatus, inserted, expires time.Duration, used *time.Duration) prefactor.APIToken {
		t := prefactor.APIToken{ID: id, Type: "api_token", AccountID: prefactortest.AccountID, Status: st, TokenScope: prefactor.TokenScopeAccount,
			InsertedAt: at.Add(inserted), UpdatedAt: at.Add(inserted), ExpiresAt: at.Add(expires)}
		if used != nil {
			u := at.Add(*used)
			t.LastUsedAt = &u
		}
		return t
	}
	ago := func(d time.Duration) *time.Duration { d = -d; return &d }
	return []prefactor.APIToken{
		tok("a", prefactor.TokenStatusActive, -300*day, 10*day, ago(day)),
		tok("b", prefactor.TokenStatusActive, -300*day, 100*day, ago(120*day)),
		tok("c", prefactor.TokenStatusSuspended, -200*day, -5*day, nil),
		tok("d", prefactor.TokenStatusRevoked, -300*day, -50*day, nil),
		tok("e", prefactor.TokenStatusActive, -300*day, 200*day, ago(2*day)),
		tok("f", prefactor.TokenStatusActive, -10*day, 200*day, nil),
		tok("g", prefactor.TokenStatusActive, -100*day, -36*time.Hour, ago(3*day)),
		tok("h", prefactor.TokenStatusActive, -300*day, 30*day, ago(90*day)), // both exactly at the limit
	}
}

func TestAuditFindings(t *testing.T) {
	srv := prefactortest.NewServer(t, auditTokens()...)
	online(t, srv, prefactortest.Token)

	code, stdout, stderr := runCmd(t, "-at", "2026-06-01")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	want := `ID  STATUS     FINDINGS
a   active     expires 2026-06-11 (in 10 days)
b   active     last used 2026-02-01 (120 days ago)
c   suspended  expired 2026-05-27 (5 days ago); never used, created 2025-11-13 (200 days ago)
g   active     expired 2026-05-30 (36h ago)
h   active     expires 2026-07-01 (in 30 days); last used 2026-03-03 (90 days ago)
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if !strings.Contains(stderr, "5 of 8 tokens need attention as of 2026-06-01.") || strings.Contains(stderr, "offline") {
		t.Errorf("stderr %q", stderr)
	}
	var sent []string
	for _, r := range srv.Requests() {
		sent = append(sent, r.Method+" "+r.Path)
	}
	if want := []string{"GET /api/v1/ping", "GET /api/v1/api_token"}; !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v: the token check, then the list", sent, want)
	}
}

func TestAuditSpans(t *testing.T) {
	srv := prefactortest.NewServer(t, auditTokens()...)
	online(t, srv, prefactortest.Token)

	tests := []struct {
		args []string
		code int
		ids  []string
	}{
		{[]string{"-expiring=0", "-unused=0"}, 0, nil},
		{[]string{"-expiring=5d", "-unused=0"}, 1, []string{"c", "g"}},
		{[]string{"-expiring=0", "-unused=2160h"}, 1, []string{"b", "c", "h"}},
		{[]string{"-expiring=0", "-unused=121d"}, 1, []string{"c"}},
		{[]string{"-expiring=0", "-unused=201d"}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"-at", "2026-06-01T00:00:00Z"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr)
			}
			var ids []string
			for i, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
				if i > 0 {
					ids = append(ids, strings.Fields(l)[0])
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("found %v, want %v", ids, tt.ids)
			}
			if tt.code == 0 && (stdout != "" || !strings.Contains(stderr, "all 8 tokens are fine")) {
				t.Errorf("clean run: stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
}

func TestAuditOffline(t *testing.T) {
	t.Setenv("PREFACTOR_API_TOKEN", "")
	t.Setenv("PREFACTOR_API_URL", "")
	code, stdout, stderr := runCmd(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	if !strings.Contains(stderr, "offline") || !strings.Contains(stderr, "need attention as of 2026-03-02") {
		t.Errorf("stderr %q: want the offline notice and the audit time", stderr)
	}

	// The same rules, computed here over the sample tokens of the fake
	// token's own account, which a list without -account shows.
	ref := prefactortest.ReferenceTime()
	var want []string
	for _, tok := range prefactortest.FakeTokens(42) {
		if tok.Status == prefactor.TokenStatusRevoked || tok.AccountID != prefactortest.AccountID {
			continue
		}
		last := tok.InsertedAt
		if tok.LastUsedAt != nil {
			last = *tok.LastUsedAt
		}
		if !tok.ExpiresAt.After(ref.Add(30*day)) || !last.After(ref.Add(-90*day)) {
			want = append(want, tok.ID)
		}
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		got = append(got, strings.Fields(l)[0])
	}
	if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("found %v,\nwant %v", got, want)
	}
}

func TestAuditErrors(t *testing.T) {
	// A token the API refuses fails the check that comes first: one line,
	// exit 2, nothing listed.
	srv := prefactortest.NewServer(t, auditTokens()...)
	online(t, srv, "wrong-token")
	code, stdout, stderr := runCmd(t)
	const want = "token-audit: the API refused the token: bad_authtoken: the API token is not valid (HTTP 401)\n"
	if code != 2 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing and %q", code, stdout, stderr, want)
	}
	if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/api/v1/ping" {
		t.Errorf("sent %d requests, want GET /api/v1/ping alone", len(reqs))
	}

	// A list the API refuses after the check.
	online(t, srv, prefactortest.Token)
	srv.FailNext(1, prefactortest.Fault{Path: "/api/v1/api_token", Status: 403, Code: prefactor.CodeNotPermitted, Message: "no access"})
	code, _, stderr = runCmd(t, "-account", "other")
	if code != 2 || !strings.Contains(stderr, "token-audit: not_permitted: no access (HTTP 403)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if reqs := srv.Requests(); len(reqs) != 3 || reqs[2].Path != "/api/v1/api_token" {
		t.Errorf("sent %d requests in all, want the refused check, then a check and a list", len(reqs))
	}

	for _, args := range [][]string{{"-unused=-1d"}, {"-unused=xd"}, {"-expiring=soon"}, {"-at=yesterday"}, {"extra"}} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// A pipeline whose secret went missing fails with the reason instead of
// auditing the demo; only -demo audits the demo while a token is set.
func TestAuditNeverPretends(t *testing.T) {
	srv := prefactortest.NewServer(t, auditTokens()...)
	t.Setenv("PREFACTOR_API_TOKEN", "")
	t.Setenv("PREFACTOR_API_URL", srv.URL())
	code, stdout, stderr := runCmd(t)
	const want = "token-audit: PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not: set PREFACTOR_API_TOKEN to use that API, or unset PREFACTOR_API_URL (or add -demo) to use the offline demo\n"
	if code != 2 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing and %q", code, stdout, stderr, want)
	}

	online(t, srv, prefactortest.Token)
	if code, _, stderr := runCmd(t, "-demo"); code != 1 || !strings.Contains(stderr, "token-audit: -demo: using an offline fake API") {
		t.Errorf("-demo with a token: exit %d, stderr %q; want the demo's findings", code, stderr)
	}
	if n := srv.RequestCount(); n != 0 {
		t.Errorf("%d requests reached the API at PREFACTOR_API_URL", n)
	}
}
