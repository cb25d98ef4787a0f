package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	if !strings.Contains(stderr, "offline") || !strings.Contains(stderr, "42 tokens") {
		t.Errorf("stderr %q: want the offline notice and the count", stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 43 {
		t.Fatalf("%d lines, want a header and 42 rows:\n%s", len(lines), stdout)
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
	for i, tok := range prefactortest.FakeTokens(42) {
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
	want, _ := json.Marshal(prefactortest.FakeTokens(42))
	if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, want) {
		t.Errorf("JSON output differs from the 42 sample tokens")
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
	if len(got) != 42 {
		t.Fatalf("%d tokens", len(got))
	}
	if !slices.IsSortedFunc(got, func(a, b prefactor.APIToken) int { return strings.Compare(string(b.Status), string(a.Status)) }) {
		t.Error("tokens are not in descending status order")
	}
	if got[0].Status != prefactor.TokenStatusSuspended {
		t.Errorf("first status %s, want suspended", got[0].Status)
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
	reqs := srv.Requests()
	if len(reqs) != (want+3)/4 {
		t.Errorf("%d requests, want %d pages of 4", len(reqs), (want+3)/4)
	}
	q := reqs[0].Query
	if q.Get("account_id") != acct || q.Get("sorting") != "status" || q.Get("pagination[page_size]") != "4" {
		t.Errorf("query %v", q)
	}
	if ua := reqs[0].Header.Get("User-Agent"); !strings.HasSuffix(ua, " prefactor-go-example/list-tokens") {
		t.Errorf("User-Agent %q", ua)
	}
}

func TestErrorsShowTheAPICode(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)

	tests := []struct {
		name  string
		token string
		args  []string
		want  []string
	}{
		{"unsupported sort field", prefactortest.Token, []string{"-sort=title"}, []string{"invalid_value", "sorting", "HTTP 400"}},
		{"wrong token", "not-the-token", nil, []string{"bad_authtoken", "HTTP 401"}},
		{"page size out of range", prefactortest.Token, []string{"-page-size=500"}, []string{"500", "out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			online(t, srv, tt.token)
			code, stdout, stderr := runCmd(t, tt.args...)
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

func TestUsageErrors(t *testing.T) {
	offline(t)
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-page-size=x"}} {
		if code, stdout, _ := runCmd(t, args...); code != 2 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing", args, code, stdout)
		}
	}
	if code, _, stderr := runCmd(t, "-h"); code != 0 || !strings.Contains(stderr, "-page-size") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr)
	}
}
