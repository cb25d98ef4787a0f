package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

func TestConnectOffline(t *testing.T) {
	t.Setenv("PREFACTOR_API_TOKEN", "")
	t.Setenv("PREFACTOR_API_URL", "")
	var stderr bytes.Buffer
	c, err := Connect(&stderr, Config{Program: "demo-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Now.Equal(prefactortest.ReferenceTime()) {
		t.Errorf("Now %v, want the samples' reference time", c.Now)
	}
	page, err := c.Client.APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	own := 0
	for _, tok := range prefactortest.FakeTokens(OfflineTokens) {
		if tok.AccountID == prefactortest.AccountID {
			own++
		}
	}
	if len(page.Items) != own {
		t.Errorf("listed %d tokens, want the %d of the fake token's account", len(page.Items), own)
	}
	for _, want := range []string{"demo-test: PREFACTOR_API_TOKEN is not set", "42 sample tokens in 3 accounts, as of 2026-03-02", "demo-test: without -account you see the 26 in the fake token's own account"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}

	at := Instant{time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)}
	c2, err := Connect(&bytes.Buffer{}, Config{Program: "demo-test", At: at})
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	c2.Close() // harmless
	if !c2.Now.Equal(at.Time) {
		t.Errorf("Now %v with -at %v", c2.Now, at.Time)
	}
}

func TestConnectOnline(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
	t.Setenv("PREFACTOR_API_TOKEN", prefactortest.Token)
	t.Setenv("PREFACTOR_API_URL", srv.URL())
	var stderr bytes.Buffer
	before := time.Now()
	c, err := Connect(&stderr, Config{Program: "demo-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Now.Before(before) || c.Now.After(time.Now()) {
		t.Errorf("Now %v, want the time of the call", c.Now)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing online", stderr.String())
	}
	if _, err := c.Client.APITokens.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if ua := srv.Requests()[0].Header.Get("User-Agent"); !strings.HasSuffix(ua, " prefactor-go-example/demo-test") {
		t.Errorf("User-Agent %q", ua)
	}
}

// Connect falls back to the demo only where that cannot pass for the real
// API: never for PREFACTOR_API_URL without a token, and for a run that
// changes tokens only with -demo.
func TestConnectRefusesToPretend(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
	for _, tt := range []struct {
		name       string
		token, url string
		cfg        Config
		refused    string // in the UsageError; "" when Connect goes ahead
		offline    bool
	}{
		{"a URL without a token", "", srv.URL(), Config{}, "PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not", false},
		{"a URL without a token, changing tokens", "", srv.URL(), Config{Mutation: "-apply"}, "PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not", false},
		{"a change without a token", "", "", Config{Mutation: "-apply"}, "PREFACTOR_API_TOKEN is not set, and -apply changes tokens", false},
		{"a change in the demo asked for", "", "", Config{Mutation: "-apply", Demo: true}, "", true},
		{"the demo asked for, with a token and a URL", prefactortest.Token, srv.URL(), Config{Demo: true}, "", true},
		{"a change with a token", prefactortest.Token, srv.URL(), Config{Mutation: "-apply"}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PREFACTOR_API_TOKEN", tt.token)
			t.Setenv("PREFACTOR_API_URL", tt.url)
			tt.cfg.Program = "demo-test"
			before := srv.RequestCount()
			var stderr bytes.Buffer
			c, err := Connect(&stderr, tt.cfg)
			if tt.refused != "" {
				var usage *UsageError
				if !errors.As(err, &usage) || !strings.Contains(usage.Reason, tt.refused) {
					t.Fatalf("Connect: %v, want a UsageError saying %q", err, tt.refused)
				}
				if c != nil || stderr.Len() != 0 {
					t.Errorf("a refused Connect returned %v and wrote %q", c, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Client.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			if online := srv.RequestCount() > before; online == tt.offline {
				t.Errorf("online %v, want %v", online, !tt.offline)
			}
			if tt.offline && !strings.Contains(stderr.String(), "demo-test: -demo: using an offline fake API") {
				t.Errorf("stderr %q, want the -demo notice", stderr.String())
			}
		})
	}
}

func TestDescribePing(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&prefactor.APIError{StatusCode: 401, Code: prefactor.CodeBadAuthToken, Message: "the API token is not valid"},
			"the API refused the token: bad_authtoken: the API token is not valid (HTTP 401)"},
		{fmt.Errorf("ping: %w", &prefactor.APIError{StatusCode: 403, Code: prefactor.CodeNotPermitted, Message: "no access"}),
			"the API refused the token: not_permitted: no access (HTTP 403)"},
		{&prefactor.APIError{StatusCode: 503, Message: "Service Unavailable"},
			"checking the token: error: Service Unavailable (HTTP 503)"},
		{errors.New("dial tcp: connection refused"), "checking the token: dial tcp: connection refused"},
	} {
		if got := DescribePing(tt.err); got != tt.want {
			t.Errorf("DescribePing(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// A wrong token fails the ping with the API's code, and the line does not
// show the token.
func TestDescribePingOfAWrongToken(t *testing.T) {
	srv := prefactortest.NewServer(t)
	const wrong = "pf_not_the_token"
	c, err := prefactor.NewClient(wrong, prefactor.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ping(context.Background())
	if err == nil {
		t.Fatal("Ping with a wrong token succeeded")
	}
	got := DescribePing(err)
	if want := "the API refused the token: bad_authtoken: "; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "(HTTP 401)") || strings.Contains(got, wrong) {
		t.Errorf("DescribePing = %q, want %q…(HTTP 401) without the token", got, want)
	}
}
