package prefactortest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// mockClient returns a client whose requests go to mock, without retry
// waits.
func mockClient(t *testing.T, mock *httpmock.MockTransport, opts ...prefactor.Option) *prefactor.Client {
	t.Helper()
	opts = append([]prefactor.Option{
		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
		prefactor.WithRetryWait(0, 0),
	}, opts...)
	c, err := prefactor.NewClient("test-token", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListResponderAnswersLikeTheServer(t *testing.T) {
	tokens := prefactortest.FakeTokens(42)
	srv := prefactortest.NewServer(t, tokens...)
	respond := prefactortest.ListResponder(tokens)

	for _, q := range []string{
		"",
		"pagination%5Boffset%5D=20&pagination%5Bpage_size%5D=10",
		"pagination%5Boffset%5D=500",
		"sorting=-status&pagination%5Bpage_size%5D=7",
		"account_id=" + tokens[2].AccountID,
		"sorting=title",
		"pagination%5Bpage_size%5D=101",
	} {
		want := get(t, srv, q, bearer)
		req, err := http.NewRequest(http.MethodGet, "https://app.prefactorai.com/api/v1/api_token?"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := respond(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want.status || !bytes.Equal(body, want.body) || resp.Header.Get("Content-Type") != want.header.Get("Content-Type") {
			t.Errorf("query %q: responder gave %d %s\nserver gave %d %s", q, resp.StatusCode, body, want.status, want.body)
		}
		if resp.Request != req {
			t.Errorf("query %q: the response does not point at its request", q)
		}
	}
}

func TestListResponderThroughTheSDK(t *testing.T) {
	tokens := prefactortest.FakeTokens(70)
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ListResponder(tokens))
	c := mockClient(t, mock)

	got, err := collect(context.Background(), c, &prefactor.ListAPITokensOptions{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := callersTokens(tokens); len(want) != 42 || !sameJSON(t, got, want) {
		t.Errorf("All returned %v, want the caller's 42", ids(got))
	}
	if n := mock.GetTotalCallCount(); n != 5 {
		t.Errorf("%d calls, want 5 pages", n)
	}

	// Changing the caller's slice afterwards changes nothing.
	tokens[0].ID = "changed"
	page, err := c.APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{PageSize: 1})
	if err != nil || page.Items[0].ID == "changed" {
		t.Errorf("ListResponder sees later changes to its tokens: %v", err)
	}
}

// The doc of ListResponder says a URL registered with a bracketed query never
// matches what the client sends; this holds it to that.
func TestLiteralQueryNeverMatches(t *testing.T) {
	opts := &prefactor.ListAPITokensOptions{PageSize: 10}
	tokens := prefactortest.FakeTokens(3)

	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, "https://app.prefactorai.com/api/v1/api_token?pagination[page_size]=10", prefactortest.ListResponder(tokens))
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token?pagination[page_size]=10", prefactortest.ListResponder(tokens))
	if _, err := mockClient(t, mock, prefactor.WithMaxRetries(0)).APITokens.List(context.Background(), opts); err == nil {
		t.Fatal("a literal bracketed query matched")
	}
	if n := mock.GetTotalCallCount(); n != 0 {
		t.Errorf("%d calls matched", n)
	}

	// RegisterResponderWithQuery escapes keys the same way, so it matches.
	mock = httpmock.NewMockTransport()
	mock.RegisterResponderWithQuery(http.MethodGet, "/api/v1/api_token", url.Values{"pagination[page_size]": {"10"}}, prefactortest.ListResponder(tokens))
	if _, err := mockClient(t, mock).APITokens.List(context.Background(), opts); err != nil {
		t.Errorf("RegisterResponderWithQuery: %v", err)
	}
}

func TestErrorResponder(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ErrorResponder(http.StatusNotFound, prefactor.CodeNotFound, "no such account"))
	_, err := mockClient(t, mock).APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{AccountID: "nope"})
	e := apiError(t, err)
	if e.StatusCode != http.StatusNotFound || e.Code != prefactor.CodeNotFound || e.Message != "no such account" {
		t.Errorf("got %+v", e)
	}
	if e.Method != http.MethodGet || e.Path != "/api/v1/api_token" {
		t.Errorf("APIError names %q %q, want the request", e.Method, e.Path)
	}

	// A 5xx is retried like a real one; the default code fills in.
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ErrorResponder(http.StatusServiceUnavailable, "", ""))
	_, err = mockClient(t, mock, prefactor.WithMaxRetries(2)).APITokens.List(context.Background(), nil)
	e = apiError(t, err)
	if e.StatusCode != http.StatusServiceUnavailable || e.Code != prefactor.CodeUnexpected || e.Message != "Service Unavailable" || e.Attempts != 3 {
		t.Errorf("got %+v", e)
	}
}
