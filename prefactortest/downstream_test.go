package prefactortest_test

// These tests are written as a user of prefactor-go would write them: the
// code under test (staleTokens, app) only knows the SDK, and each test
// stands in for the API in at most three lines, marked "mock".

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
	srv := prefactortest.NewServer(t, downstreamTokens...) // mock
	got, err := staleTokens(context.Background(), srv.Client(), cutoff)
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
	a := &app{hc: &http.Client{}, opts: []prefactor.Option{prefactortest.FastRetries()}}
	httpmock.ActivateNonDefault(a.hc)                                                                                                                                   // mock
	t.Cleanup(httpmock.DeactivateAndReset)                                                                                                                              // mock
	httpmock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ErrorResponder(http.StatusUnauthorized, prefactor.CodeBadAuthToken, "token revoked")) // mock

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
