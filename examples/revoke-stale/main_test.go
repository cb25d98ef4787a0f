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

const day = demo.Day

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// online points the program at srv, authenticated with token.
func online(t *testing.T, srv *prefactortest.Server, token string) {
	t.Setenv("PREFACTOR_API_TOKEN", token)
	t.Setenv("PREFACTOR_API_URL", srv.URL())
}

// at is "now" for these tests, given with -at.
var at = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)

// staleTokens holds, in ID order, tokens on both sides of -unused=90d.
func staleTokens() []prefactor.APIToken {
	tok := func(id string, st prefactor.TokenStatus, age time.Duration, idle *time.Duration) prefactor.APIToken {
		t := prefactor.APIToken{ID: id, Type: "api_token", AccountID: prefactortest.AccountID, Status: st, TokenScope: prefactor.TokenScopeAccount,
			InsertedAt: at.Add(-age), UpdatedAt: at.Add(-age), ExpiresAt: at.Add(300 * day)}
		if idle != nil {
			u := at.Add(-*idle)
			t.LastUsedAt = &u
		}
		return t
	}
	idle := func(d time.Duration) *time.Duration { return &d }
	return []prefactor.APIToken{
		tok("a", prefactor.TokenStatusActive, 300*day, idle(day)),                   // used yesterday
		tok("b", prefactor.TokenStatusActive, 300*day, idle(120*day)),               // stale
		tok("c", prefactor.TokenStatusSuspended, 200*day, nil),                      // stale: never used, old
		tok("d", prefactor.TokenStatusRevoked, 300*day, nil),                        // stale, but already revoked
		tok("e", prefactor.TokenStatusActive, 10*day, nil),                          // never used, but new
		tok("f", prefactor.TokenStatusActive, 300*day, idle(90*day)),                // stale: exactly at the limit
		tok("g", prefactor.TokenStatusActive, 300*day, idle(90*day-time.Second)),    // just inside the limit
		tok("h", prefactor.TokenStatusSuspended, 300*day, idle(100*day)),            // stale
		tok("i", prefactor.TokenStatusRevoked, 300*day, idle(200*day)),              // stale, but already revoked
		tok("j", prefactor.TokenStatusActive, 90*day, nil),                          // stale: never used, exactly 90 days old
		tok("k", prefactor.TokenStatusActive, 90*day-time.Second, nil),              // never used, just under 90 days old
		tok("l", prefactor.TokenStatusSuspended, 400*day, idle(30*day)),             // suspended, but used lately
		tok("m", prefactor.TokenStatusActive, 500*day, idle(400*day)),               // stale
		tok("n", prefactor.TokenStatusActive, 5*day, idle(4*day)),                   // fresh
		tok("o", prefactor.TokenStatusActive, 2*365*day, idle(2*365*day-time.Hour)), // stale
		tok("p", prefactor.TokenStatusActive, 91*day, idle(89*day)),                 // fresh
		tok("q", prefactor.TokenStatusSuspended, 91*day, idle(91*day)),              // stale
		tok("r", prefactor.TokenStatusActive, 3*day, nil),                           // new
		tok("s", prefactor.TokenStatusActive, 95*day, idle(94*day)),                 // stale
		tok("t", prefactor.TokenStatusActive, 95*day, idle(1*day)),                  // fresh
		tok("u", prefactor.TokenStatusActive, 800*day, idle(700*day)),               // stale
		tok("v", prefactor.TokenStatusActive, 800*day, idle(80*day)),                // fresh
		tok("w", prefactor.TokenStatusRevoked, 800*day, idle(80*day)),               // revoked
		tok("x", prefactor.TokenStatusActive, 800*day, idle(365*day)),               // stale
		tok("y", prefactor.TokenStatusActive, 800*day, idle(10*day)),                // fresh
		tok("z", prefactor.TokenStatusActive, 800*day, idle(100*day)),               // stale, on the second page (25 a page)
		tok("zz", prefactor.TokenStatusActive, 800*day, idle(10*day)),               // fresh, on the second page
	}
}

var wantStale = []string{"b", "c", "f", "h", "j", "m", "o", "q", "s", "u", "x", "z"}

// firstColumn returns the first field of each line of a table, header
// left out.
func firstColumn(t *testing.T, table string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(table), "\n")
	var out []string
	for _, l := range lines[1:] {
		out = append(out, strings.Fields(l)[0])
	}
	return out
}

func TestDryRunChangesNothing(t *testing.T) {
	srv := prefactortest.NewServer(t, staleTokens()...)
	online(t, srv, prefactortest.Token)

	code, stdout, stderr := runCmd(t, "-at", "2026-06-01")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr %s", code, stderr)
	}
	if got := firstColumn(t, stdout); !slices.Equal(got, wantStale) {
		t.Errorf("listed %v,\nwant %v", got, wantStale)
	}
	for _, want := range []string{
		"ID  STATUS     UNUSED\n",
		"b   active     last used 2026-02-01 (120 days ago)\n",
		"c   suspended  never used, created 2025-11-13 (200 days ago)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "dry run: would revoke 12 of 27 tokens, unused for 90d as of 2026-06-01; run with -apply") || strings.Contains(stderr, "offline") {
		t.Errorf("stderr %q", stderr)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 || reqs[0].Path != "/api/v1/ping" {
		t.Error("the run did not check the token first")
	}
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			t.Errorf("a dry run sent %s %s", r.Method, r.Path)
		}
	}
	if !sameTokens(srv.Tokens(), staleTokens()) {
		t.Error("a dry run changed the tokens")
	}
}

func sameTokens(a, b []prefactor.APIToken) bool {
	return slices.EqualFunc(a, b, func(x, y prefactor.APIToken) bool {
		return x.ID == y.ID && x.Status == y.Status && x.UpdatedAt.Equal(y.UpdatedAt)
	})
}

func TestApplyRevokesExactlyTheStale(t *testing.T) {
	srv := prefactortest.NewServer(t, staleTokens()...)
	srv.SetClock(func() time.Time { return at })
	online(t, srv, prefactortest.Token)

	code, stdout, stderr := runCmd(t, "-at", "2026-06-01", "-apply")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr %s", code, stderr)
	}
	if got := firstColumn(t, stdout); !slices.Equal(got, wantStale) {
		t.Errorf("printed %v,\nwant %v", got, wantStale)
	}
	if !strings.HasPrefix(stdout, "REVOKED  WAS        UNUSED\n") || !strings.Contains(stdout, "c        suspended  never used") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, "revoked 12 of 27 tokens, unused for 90d as of 2026-06-01.") {
		t.Errorf("stderr %q", stderr)
	}

	// Exactly one revoke per stale token, nothing else changed.
	var revoked []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet {
			continue
		}
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.Path, "/api/v1/api_token/"), "/revoke")
		if r.Method != http.MethodPost || !ok {
			t.Errorf("unexpected %s %s", r.Method, r.Path)
		}
		revoked = append(revoked, id)
	}
	if !slices.Equal(revoked, wantStale) {
		t.Errorf("revoked %v,\nwant %v", revoked, wantStale)
	}
	before := staleTokens()
	for i, tok := range srv.Tokens() {
		want := before[i].Status
		if slices.Contains(wantStale, tok.ID) {
			want = prefactor.TokenStatusRevoked
		}
		if tok.Status != want {
			t.Errorf("%s is %s, want %s", tok.ID, tok.Status, want)
		}
	}

	// A second run finds nothing left to do.
	code, stdout, stderr = runCmd(t, "-at", "2026-06-01", "-apply")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "none of the 27 tokens has gone unused for 90d") {
		t.Errorf("second run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestUnusedSpan(t *testing.T) {
	srv := prefactortest.NewServer(t, staleTokens()...)
	online(t, srv, prefactortest.Token)
	for _, tt := range []struct {
		span string
		want []string
	}{
		{"365d", []string{"m", "o", "u", "x"}},
		{"8760h", []string{"m", "o", "u", "x"}},
		{"2000d", nil},
	} {
		code, stdout, stderr := runCmd(t, "-at", "2026-06-01T00:00:00Z", "-unused", tt.span)
		if code != 0 {
			t.Errorf("-unused %s: exit %d; stderr %s", tt.span, code, stderr)
			continue
		}
		var got []string
		if stdout != "" {
			got = firstColumn(t, stdout)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("-unused %s: listed %v, want %v", tt.span, got, tt.want)
		}
	}
}

func TestOffline(t *testing.T) {
	t.Setenv("PREFACTOR_API_TOKEN", "")
	t.Setenv("PREFACTOR_API_URL", "")

	// The same rule, computed here over the sample tokens of one account.
	stale := func(account string) []string {
		ref := prefactortest.ReferenceTime()
		var ids []string
		for _, tok := range prefactortest.FakeTokens(demo.OfflineTokens) {
			if tok.AccountID != account {
				continue
			}
			last := tok.InsertedAt
			if tok.LastUsedAt != nil {
				last = *tok.LastUsedAt
			}
			if tok.Status != prefactor.TokenStatusRevoked && !last.After(ref.Add(-90*day)) {
				ids = append(ids, tok.ID)
			}
		}
		if len(ids) == 0 {
			t.Fatalf("no stale sample tokens in %s: the test would prove nothing", account)
		}
		return ids
	}
	// Without -account: the fake token's own account.
	want := stale(prefactortest.AccountID)

	for _, args := range [][]string{nil, {"-demo"}, {"-apply", "-demo"}} {
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d; stderr %s", args, code, stderr)
		}
		if got := firstColumn(t, stdout); !slices.Equal(got, want) {
			t.Errorf("%q: listed %v,\nwant %v", args, got, want)
		}
		if !strings.Contains(stderr, "offline") || !strings.Contains(stderr, "90d as of 2026-03-02") {
			t.Errorf("%q: stderr %q: want the offline notice and the time judged at", args, stderr)
		}
	}

	// Another account of the fake is there for the asking.
	other := prefactortest.FakeTokens(demo.OfflineTokens)[2].AccountID
	if other == prefactortest.AccountID {
		t.Fatal("sample token 2 is in the token's own account")
	}
	code, stdout, stderr := runCmd(t, "-account", other)
	if code != 0 {
		t.Fatalf("-account %s: exit %d; stderr %s", other, code, stderr)
	}
	if got, want := firstColumn(t, stdout), stale(other); !slices.Equal(got, want) {
		t.Errorf("-account %s: listed %v,\nwant %v", other, got, want)
	}
}

// A job whose secret went missing fails with the reason instead of
// revoking the demo's tokens.
func TestNeverPretends(t *testing.T) {
	srv := prefactortest.NewServer(t, staleTokens()...)
	for _, tt := range []struct {
		name, url string
		args      []string
		want      string
	}{
		{"-apply without a token", "", []string{"-apply"},
			"revoke-stale: PREFACTOR_API_TOKEN is not set, and -apply changes tokens: set PREFACTOR_API_TOKEN to act on your account, or add -demo to try it on the offline demo\n"},
		{"a URL without a token", srv.URL(), nil,
			"revoke-stale: PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not: set PREFACTOR_API_TOKEN to use that API, or unset PREFACTOR_API_URL (or add -demo) to use the offline demo\n"},
		{"a URL without a token, -apply", srv.URL(), []string{"-apply"},
			"revoke-stale: PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not: set PREFACTOR_API_TOKEN to use that API, or unset PREFACTOR_API_URL (or add -demo) to use the offline demo\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PREFACTOR_API_TOKEN", "")
			t.Setenv("PREFACTOR_API_URL", tt.url)
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != 2 || stdout != "" || stderr != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing and %q", code, stdout, stderr, tt.want)
			}
		})
	}
	if n := srv.RequestCount(); n != 0 {
		t.Errorf("%d requests reached the API at PREFACTOR_API_URL", n)
	}

	// -demo with a token set still uses the demo: the API is not touched.
	online(t, srv, prefactortest.Token)
	if code, _, stderr := runCmd(t, "-apply", "-demo"); code != 0 || !strings.Contains(stderr, "revoke-stale: -demo: using an offline fake API") {
		t.Errorf("-apply -demo with a token: exit %d, stderr %q", code, stderr)
	}
	if n := srv.RequestCount(); n != 0 || !sameTokens(srv.Tokens(), staleTokens()) {
		t.Errorf("-demo sent %d requests to the API", n)
	}
}

func TestFailures(t *testing.T) {
	t.Run("the token is refused", func(t *testing.T) {
		// The check comes first: one line, and nothing listed or revoked.
		srv := prefactortest.NewServer(t, staleTokens()...)
		online(t, srv, "wrong-token")
		code, stdout, stderr := runCmd(t, "-apply")
		const want = "revoke-stale: the API refused the token: bad_authtoken: the API token is not valid (HTTP 401)\n"
		if code != 1 || stdout != "" || stderr != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing and %q", code, stdout, stderr, want)
		}
		if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/api/v1/ping" {
			t.Errorf("sent %d requests, want GET /api/v1/ping alone", len(reqs))
		}
		if !sameTokens(srv.Tokens(), staleTokens()) {
			t.Error("a refused token changed the tokens")
		}
	})

	t.Run("listing fails", func(t *testing.T) {
		srv := prefactortest.NewServer(t, staleTokens()...)
		online(t, srv, prefactortest.Token)
		srv.FailNext(1, prefactortest.Fault{Path: "/api/v1/api_token", Status: http.StatusForbidden, Code: prefactor.CodeNotPermitted, Message: "no access"})
		code, _, stderr := runCmd(t, "-apply", "-account", "other")
		if code != 1 || !strings.Contains(stderr, "revoke-stale: listing tokens: not_permitted: no access (HTTP 403)") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 {
			t.Errorf("sent %d requests, want the token check and one list", len(reqs))
		}
		for _, r := range reqs {
			if r.Method != http.MethodGet {
				t.Errorf("a failed listing went on to %s %s", r.Method, r.Path)
			}
		}
	})

	t.Run("a revocation fails", func(t *testing.T) {
		// The service refuses to revoke a token in a state it cannot
		// revoke from; "frozen" stands for one. The run stops there.
		tokens := staleTokens()
		tokens[7].Status = "frozen" // h, the fourth stale token
		srv := prefactortest.NewServer(t, tokens...)
		online(t, srv, prefactortest.Token)

		code, stdout, stderr := runCmd(t, "-at", "2026-06-01", "-apply")
		if code != 1 {
			t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
		}
		if got := firstColumn(t, stdout); !slices.Equal(got, []string{"b", "c", "f"}) {
			t.Errorf("printed %v, want the three revoked before the failure", got)
		}
		if !strings.Contains(stderr, "revoking h: invalid_action") || !strings.Contains(stderr, "revoked 3 stale tokens before the error") {
			t.Errorf("stderr %q", stderr)
		}
		var posts int
		for _, r := range srv.Requests() {
			if r.Method == http.MethodPost {
				posts++
			}
		}
		if posts != 4 {
			t.Errorf("%d revocations sent, want 4 (stop after the failure)", posts)
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		srv := prefactortest.NewServer(t, staleTokens()...)
		online(t, srv, prefactortest.Token)
		for _, args := range [][]string{{"-unused=0"}, {"-unused=0d"}, {"-unused=-1d"}, {"-unused=xd"}, {"-at=yesterday"}, {"-apply=maybe"}, {"extra"}, {"-nope"}} {
			if code, stdout, _ := runCmd(t, args...); code != 2 || stdout != "" {
				t.Errorf("%q: exit %d, stdout %q; want 2 and nothing", args, code, stdout)
			}
		}
		if code, _, stderr := runCmd(t, "-h"); code != 0 || !strings.Contains(stderr, "-apply") {
			t.Errorf("-h: exit %d, stderr %q", code, stderr)
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("bad flags sent %d requests", n)
		}
	})
}
