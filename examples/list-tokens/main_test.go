package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// runCmd runs the program and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// offline makes the program use its offline fake.
func offline(t *testing.T) {
	t.Setenv("PREFACTOR_API_TOKEN", "")
	t.Setenv("PREFACTOR_API_URL", "")
}

// ownTokens are the sample tokens a list without -account shows offline:
// those of the fake token's own account.
func ownTokens() []prefactor.APIToken {
	var out []prefactor.APIToken
	for _, tok := range prefactortest.FakeTokens(42) {
		if tok.AccountID == prefactortest.AccountID {
			out = append(out, tok)
		}
	}
	return out
}

// online points the program at srv as if it were the real API.
func online(t *testing.T, srv *prefactortest.Server, token string) {
	t.Setenv("PREFACTOR_API_TOKEN", token)
	t.Setenv("PREFACTOR_API_URL", srv.URL())
}

func TestOfflineTable(t *testing.T) {
	offline(t)
	code, stdout, stderr := runCmd(t)
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	own := ownTokens()
	if len(own) == 0 || len(own) == 42 {
		t.Fatalf("%d of the 42 sample tokens in the token's own account; the test needs some outside it", len(own))
	}
	for _, want := range []string{"offline", "42 sample tokens in 3 accounts", fmt.Sprintf("you see the %d in the fake token's own account", len(own)), fmt.Sprintf("\n%d tokens\n", len(own))} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(own)+1 {
		t.Fatalf("%d lines, want a header and %d rows:\n%s", len(lines), len(own), stdout)
	}
	header := strings.Fields(lines[0])
	if want := []string{"ID", "SCOPE", "STATUS", "EXPIRES", "LAST", "USED", "ENVIRONMENT"}; !slices.Equal(header, want) {
		t.Errorf("header %q", lines[0])
	}
	// Columns line up: each starts at the same offset in every row.
	for _, col := range []string{"SCOPE", "STATUS", "EXPIRES", "LAST USED", "ENVIRONMENT"} {
		at := strings.Index(lines[0], col)
		for _, l := range lines[1:] {
			if l[at-1] != ' ' || l[at] == ' ' {
				t.Fatalf("column %s is not aligned in %q", col, l)
			}
		}
	}
	for i, tok := range own {
		row := strings.Fields(lines[i+1])
		lastUsed, env := "never", "-"
		if tok.LastUsedAt != nil {
			lastUsed = tok.LastUsedAt.Format("2006-01-02")
		}
		if tok.EnvironmentID != nil {
			env = *tok.EnvironmentID
		}
		want := []string{tok.ID, string(tok.TokenScope), string(tok.Status), tok.ExpiresAt.Format("2006-01-02"), lastUsed, env}
		if !slices.Equal(row, want) {
			t.Errorf("row %d: %q, want %q", i, row, want)
		}
	}
}

func TestOfflineJSON(t *testing.T) {
	offline(t)
	code, stdout, stderr := runCmd(t, "-json")
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	var got []prefactor.APIToken
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not a JSON array of tokens: %v\n%s", err, stdout)
	}
	want, _ := json.Marshal(ownTokens())
	if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, want) {
		t.Errorf("JSON output differs from the sample tokens of the token's own account")
	}
}

// Offline, -account lists another account of the fake: it has no
// permission model.
func TestOfflineOtherAccount(t *testing.T) {
	offline(t)
	other := prefactortest.FakeTokens(42)[2].AccountID
	var want []string
	for _, tok := range prefactortest.FakeTokens(42) {
		if tok.AccountID == other {
			want = append(want, tok.ID)
		}
	}
	if other == prefactortest.AccountID || len(want) == 0 {
		t.Fatalf("sample token 2 is not in another account with tokens")
	}
	code, stdout, stderr := runCmd(t, "-account", other, "-json")
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	var got []prefactor.APIToken
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, tok := range got {
		gotIDs = append(gotIDs, tok.ID)
	}
	if !slices.Equal(gotIDs, want) {
		t.Errorf("-account %s: %v, want %v", other, gotIDs, want)
	}
}

func TestSortDescending(t *testing.T) {
	offline(t)
	code, stdout, stderr := runCmd(t, "-sort=-status", "-json")
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	var got []prefactor.APIToken
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ownTokens()) {
		t.Fatalf("%d tokens, want %d", len(got), len(ownTokens()))
	}
	if !slices.IsSortedFunc(got, func(a, b prefactor.APIToken) int { return strings.Compare(string(b.Status), string(a.Status)) }) {
		t.Error("tokens are not in descending status order")
	}
	if got[0].Status != prefactor.TokenStatusSuspended {
		t.Errorf("first status %s, want suspended", got[0].Status)
	}
}

func TestSortFlag(t *testing.T) {
	for in, want := range map[string]prefactor.Sort{
		"":        {},
		"id":      {Field: prefactor.SortByID},
		"-id":     {Field: prefactor.SortByID, Direction: prefactor.SortDesc},
		"status":  {Field: prefactor.SortByStatus},
		"-status": {Field: prefactor.SortByStatus, Direction: prefactor.SortDesc},
	} {
		f := sortFlag{prefactor.Sort{Field: "stale"}}
		if err := f.Set(in); err != nil || f.Sort != want {
			t.Errorf("Set(%q) = %+v, %v; want %+v", in, f.Sort, err, want)
		}
		if got := f.String(); got != in {
			t.Errorf("Set(%q) then String() = %q", in, got)
		}
	}
}

func TestFlagsReachTheAPI(t *testing.T) {
	tokens := prefactortest.FakeTokens(30)
	srv := prefactortest.NewServer(t, tokens...)
	online(t, srv, prefactortest.Token)
	acct := tokens[0].AccountID

	code, stdout, stderr := runCmd(t, "-account", acct, "-sort", "status", "-page-size", "4")
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	if strings.Contains(stderr, "offline") {
		t.Errorf("stderr %q: used the offline fake although a token is set", stderr)
	}
	var want int
	for _, tok := range tokens {
		if tok.AccountID == acct {
			want++
		}
	}
	if rows := strings.Count(stdout, "\n") - 1; rows != want {
		t.Errorf("%d rows, want the account's %d tokens", rows, want)
	}
	// The token check first, then the pages.
	reqs := srv.Requests()
	if len(reqs) != 1+(want+3)/4 {
		t.Fatalf("%d requests, want the token check and %d pages of 4", len(reqs), (want+3)/4)
	}
	if r := reqs[0]; r.Method != http.MethodGet || r.Path != "/api/v1/ping" {
		t.Errorf("first request %s %s, want GET /api/v1/ping", r.Method, r.Path)
	}
	for _, r := range reqs[1:] {
		if r.Method != http.MethodGet || r.Path != "/api/v1/api_token" {
			t.Errorf("request %s %s, want GET /api/v1/api_token", r.Method, r.Path)
		}
	}
	q := reqs[1].Query
	if q.Get("account_id") != acct || q.Get("sorting") != "status" || q.Get("pagination[page_size]") != "4" {
		t.Errorf("query %v", q)
	}
	for _, r := range reqs[:2] {
		if ua := r.Header.Get("User-Agent"); !strings.HasSuffix(ua, " prefactor-go-example/list-tokens") {
			t.Errorf("%s: User-Agent %q", r.Path, ua)
		}
	}
}

// A token the API refuses fails the check that comes first: one line on
// stderr, exit 1, and no list request.
func TestBadTokenFailsFast(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	const wrong = "pf_not_the_token"
	online(t, srv, wrong)
	code, stdout, stderr := runCmd(t, "-sort=status")
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	const want = "list-tokens: the API refused the token: bad_authtoken: the API token is not valid (HTTP 401)\n"
	if stderr != want || strings.Contains(stderr, wrong) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/v1/ping" {
		t.Errorf("sent %d requests (%v), want the token check alone", len(reqs), paths(reqs))
	}
}

// paths returns the method and path of each request.
func paths(reqs []prefactortest.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func TestErrorsShowTheAPICode(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)

	tests := []struct {
		name  string
		token string
		fault *prefactortest.Fault // aimed at the list, after the token check
		want  []string
	}{
		{"the list is refused", prefactortest.Token, &prefactortest.Fault{Path: "/api/v1/api_token", Status: http.StatusForbidden, Code: prefactor.CodeNotPermitted, Message: "no access"},
			[]string{"list-tokens: not_permitted: no access (HTTP 403)"}},
		{"wrong token", "not-the-token", nil, []string{"the API refused the token: bad_authtoken", "HTTP 401"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			online(t, srv, tt.token)
			if tt.fault != nil {
				srv.FailNext(1, *tt.fault)
			}
			code, stdout, stderr := runCmd(t)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, tt.token) {
				t.Errorf("stderr shows the token")
			}
		})
	}
}

// Bad flags and a bad environment exit 2 before anything is sent, offline
// fake or not.
func TestUsageErrors(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	online(t, srv, prefactortest.Token)
	for _, tt := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-page-size=x"}, "-page-size"},
		{[]string{"-page-size=500"}, "-page-size 500: want 1 to 100"},
		{[]string{"-page-size=-1"}, "-page-size -1: want 1 to 100"},
		{[]string{"-sort=bogus"}, `invalid value "bogus" for flag -sort: want id or status`},
		{[]string{"-sort=-bogus"}, `invalid value "-bogus" for flag -sort: want id or status`},
		{[]string{"-sort=title"}, `invalid value "title" for flag -sort: want id or status`},
		{[]string{"-sort", "email"}, `invalid value "email" for flag -sort: want id or status`},
		{[]string{"-sort=-"}, `invalid value "-" for flag -sort`},
		{[]string{"-sort=--id"}, `invalid value "--id" for flag -sort`},
		{[]string{"-sort= id"}, `invalid value " id" for flag -sort`},
		{[]string{"-sort=ID"}, `invalid value "ID" for flag -sort`},
	} {
		code, stdout, stderr := runCmd(t, tt.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing and %q", tt.args, code, stdout, stderr, tt.want)
		}
		if strings.HasPrefix(tt.args[0], "-sort") && !strings.Contains(stderr, "Usage of list-tokens:") {
			t.Errorf("%q: stderr %q lacks the usage", tt.args, stderr)
		}
	}
	// So is PREFACTOR_API_URL without a token: it never passes for the demo.
	t.Setenv("PREFACTOR_API_TOKEN", "")
	const noToken = "list-tokens: PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not: set PREFACTOR_API_TOKEN to use that API, or unset PREFACTOR_API_URL (or add -demo) to use the offline demo\n"
	if code, stdout, stderr := runCmd(t); code != 2 || stdout != "" || stderr != noToken {
		t.Errorf("PREFACTOR_API_URL without a token: exit %d, stdout %q, stderr %q; want 2, nothing and %q", code, stdout, stderr, noToken)
	}
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Errorf("bad flags sent %d requests: %v", len(reqs), paths(reqs))
	}
	offline(t)
	if code, _, stderr := runCmd(t, "-page-size=500"); code != 2 || strings.Contains(stderr, "offline") {
		t.Errorf("-page-size=500 offline: exit %d, stderr %q; want 2 before the fake starts", code, stderr)
	}
	if code, _, stderr := runCmd(t, "-h"); code != 0 || !strings.Contains(stderr, "-page-size") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr)
	}
}

// -demo lists the demo's tokens even when a token is set, and leaves the
// API alone.
func TestDemoFlag(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	online(t, srv, prefactortest.Token)
	code, stdout, stderr := runCmd(t, "-demo", "-json")
	var listed []prefactor.APIToken
	if err := json.Unmarshal([]byte(stdout), &listed); err != nil || code != 0 || len(listed) != len(ownTokens()) {
		t.Errorf("exit %d, %d tokens (%v); want 0 and the demo's %d", code, len(listed), err, len(ownTokens()))
	}
	if !strings.Contains(stderr, "list-tokens: -demo: using an offline fake API") || srv.RequestCount() != 0 {
		t.Errorf("stderr %q, %d requests to the API; want the -demo notice and none", stderr, srv.RequestCount())
	}
}
