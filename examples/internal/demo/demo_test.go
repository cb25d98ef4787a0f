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
	var stderr bytes.Buffer
	c, err := Connect(&stderr, "demo-test", Instant{})
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
	c2, err := Connect(&bytes.Buffer{}, "demo-test", at)
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
	c, err := Connect(&stderr, "demo-test", Instant{})
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
