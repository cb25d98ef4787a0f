package prefactortest_test

// These tests are written as a user of prefactor-go would write them: the
// code under test (staleTokens, revokeStale, app) only knows the SDK, and
// each test stands in for the API in at most three lines, marked "mock".

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// staleTokens is downstream code: the IDs of active tokens not used since
// cutoff (never-used ones count when created before it).
func staleTokens(ctx context.Context, c *prefactor.Client, cutoff time.Time) ([]string, error) {
	var stale []string
	for tok, err := range c.APITokens.All(ctx, &prefactor.ListAPITokensOptions{PageSize: 20}) {
		if err != nil {
			return nil, err
		}
		last := tok.InsertedAt
		if tok.LastUsedAt != nil {
			last = *tok.LastUsedAt
		}
		if tok.Status == prefactor.TokenStatusActive && last.Before(cutoff) {
			stale = append(stale, tok.ID)
		}
	}
	return stale, nil
}

// app is downstream code that owns its *http.Client and lets its tests add
// client options.
type app struct {
	hc   *http.Client
	opts []prefactor.Option
}

func (a *app) stale(ctx context.Context, cutoff time.Time) ([]string, error) {
	c, err := prefactor.NewClient("app-token", append([]prefactor.Option{prefactor.WithHTTPClient(a.hc)}, a.opts...)...)
	if err != nil {
		return nil, err
	}
	return staleTokens(ctx, c, cutoff)
}

var (
	downstreamTokens = prefactortest.FakeTokens(50)
	cutoff           = prefactortest.ReferenceTime().AddDate(0, 0, -90)
)

// wantStale computes the expected answer independently of staleTokens:
// a list without an account ID is of the caller's account, which for the
// fake is prefactortest.AccountID.
func wantStale() []string {
	var ids []string
	for _, tok := range downstreamTokens {
		if tok.Status != prefactor.TokenStatusActive || tok.AccountID != prefactortest.AccountID {
			continue
		}
		if (tok.LastUsedAt == nil && tok.InsertedAt.Before(cutoff)) || (tok.LastUsedAt != nil && tok.LastUsedAt.Before(cutoff)) {
			ids = append(ids, tok.ID)
		}
	}
	return ids
}

func TestDownstreamWithFakeServer(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(50)...) // mock
	got, err := staleTokens(ctx, srv.Client(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantStale(); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("stale %v, want %v", got, want)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 pages of 20 (30 of the 50 tokens are the caller's)", n)
	}
}

func TestDownstreamWithMockTransport(t *testing.T) {
	mock := httpmock.NewMockTransport()                                                                                              // mock
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ListResponder(downstreamTokens))                       // mock
	client, err := prefactor.NewClient("test", prefactor.WithHTTPClient(&http.Client{Transport: mock}), prefactortest.FastRetries()) // mock
	if err != nil {
		t.Fatal(err)
	}
	got, err := staleTokens(context.Background(), client, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantStale(); !slices.Equal(got, want) {
		t.Errorf("stale %v, want %v", got, want)
	}
}

func TestDownstreamWithActivateNonDefault(t *testing.T) {
	hc := &http.Client{}
	a := &app{hc: hc, opts: []prefactor.Option{prefactortest.FastRetries()}}
	httpmock.ActivateNonDefault(hc)                                 // mock
	t.Cleanup(httpmock.DeactivateAndReset)                          // mock
	httpmock.RegisterResponder(http.MethodGet, "/api/v1/api_token", // mock
		prefactortest.ErrorResponder(http.StatusUnauthorized, prefactor.CodeBadAuthToken, "token revoked"))

	_, err := a.stale(context.Background(), cutoff)
	var apiErr *prefactor.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != prefactor.CodeBadAuthToken || apiErr.Message != "token revoked" {
		t.Fatalf("got %v, want the API's bad_authtoken", err)
	}

	// A 503 first: the client retries through the mock, a millisecond or
	// two later thanks to FastRetries.
	httpmock.RegisterResponder(http.MethodGet, "/api/v1/api_token",
		prefactortest.ErrorResponder(http.StatusServiceUnavailable, prefactor.CodeUnexpected, "busy").Then(prefactortest.ListResponder(downstreamTokens)))
	got, err := a.stale(context.Background(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantStale(); !slices.Equal(got, want) {
		t.Errorf("stale %v, want %v", got, want)
	}
	if n := httpmock.GetTotalCallCount(); n != 4 {
		t.Errorf("%d calls through the activated client, want 4 (one refused, one 503, two pages)", n)
	}
}

// revokeStale is downstream code: it revokes the tokens staleTokens finds,
// going on past a failed revocation, and returns the IDs it revoked and
// the errors of those it could not.
func revokeStale(ctx context.Context, c *prefactor.Client, cutoff time.Time) ([]string, map[string]error, error) {
	stale, err := staleTokens(ctx, c, cutoff)
	if err != nil {
		return nil, nil, err
	}
	var revoked []string
	failed := map[string]error{}
	for _, id := range stale {
		if _, err := c.APITokens.Revoke(ctx, id); err != nil {
			failed[id] = err
			continue
		}
		revoked = append(revoked, id)
	}
	return revoked, failed, nil
}

// One revoke fails, aimed at its route; the list, the gets and the other
// revokes go through.
func TestDownstreamOneRevokeFails(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t, downstreamTokens...) // mock
	srv.FailNext(1, prefactortest.Fault{Status: 500, Method: "POST", Path: "/api/v1/api_token/*/revoke"})
	client := srv.Client(prefactor.WithMaxRetries(0)) // mock

	revoked, failed, err := revokeStale(ctx, client, cutoff)
	if err != nil {
		t.Fatalf("the list failed: %v", err)
	}
	want := wantStale()
	if len(want) < 2 {
		t.Fatalf("%d stale tokens; the test needs two or more", len(want))
	}
	var apiErr *prefactor.APIError
	if len(failed) != 1 || !errors.As(failed[want[0]], &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Errorf("failed %v, want only %s with a 500", failed, want[0])
	}
	if !slices.Equal(revoked, want[1:]) {
		t.Errorf("revoked %v, want %v", revoked, want[1:])
	}
	for _, id := range want {
		tok, err := client.APITokens.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get %s: %v", id, err)
		}
		wantStatus := prefactor.TokenStatusRevoked
		if id == want[0] {
			wantStatus = prefactor.TokenStatusActive // staleTokens picks active ones
		}
		if tok.Status != wantStatus {
			t.Errorf("%s is %s after the run, want %s", id, tok.Status, wantStatus)
		}
	}

	// With the SDK's retries, the same fault costs one more request and
	// the code sees no failure.
	srv = prefactortest.NewServer(t, downstreamTokens...)
	srv.FailNext(1, prefactortest.Fault{Status: 500, Method: "POST", Path: "/api/v1/api_token/*/revoke"})
	revoked, failed, err = revokeStale(ctx, srv.Client(), cutoff)
	if err != nil || len(failed) != 0 || !slices.Equal(revoked, want) {
		t.Errorf("with retries: revoked %v, failed %v, err %v; want every stale token revoked", revoked, failed, err)
	}
	posts := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/v1/api_token/"+want[0]+"/revoke" {
			posts++
		}
	}
	if posts != 2 {
		t.Errorf("%d revokes of %s sent, want 2: the failed one and its retry", posts, want[0])
	}
}

// The whole fake behind httpmock: the list, the revokes and an aimed fault
// go through the mock transport, on the fake's store.
func TestDownstreamWithResponder(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t, downstreamTokens...)
	mock := httpmock.NewMockTransport()                     // mock
	mock.RegisterNoResponder(srv.Responder())               // mock
	client, err := prefactor.NewClient(prefactortest.Token, // mock
		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
		prefactortest.FastRetries())
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, prefactortest.Fault{Status: 500, Method: "POST", Path: "/api/v1/api_token/*/revoke"})

	revoked, failed, err := revokeStale(ctx, client, cutoff)
	want := wantStale()
	if err != nil || len(failed) != 0 || !slices.Equal(revoked, want) {
		t.Fatalf("revoked %v, failed %v, err %v; want every stale token revoked", revoked, failed, err)
	}
	for _, tok := range srv.Tokens() {
		if slices.Contains(want, tok.ID) && tok.Status != prefactor.TokenStatusRevoked {
			t.Errorf("%s is %s in the fake's store, want revoked", tok.ID, tok.Status)
		}
	}
	// Two pages of 20, a revoke per stale token, and the retry of the one
	// that failed.
	if n, wantCalls := mock.GetTotalCallCount(), 2+len(want)+1; n != wantCalls || srv.RequestCount() != wantCalls {
		t.Errorf("%d calls through the mock, %d requests on the fake; want %d", n, srv.RequestCount(), wantCalls)
	}
}
