package prefactortest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

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
		checkSameAnswer(t, "query "+q, respondTo(t, respond, http.MethodGet, listPath+"?"+q, ""), get(t, srv, q, bearer))
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

// responderClient returns a client whose requests srv.Responder answers
// through an httpmock transport, and that transport.
func responderClient(t *testing.T, srv *prefactortest.Server, opts ...prefactor.Option) (*prefactor.Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(srv.Responder())
	opts = append([]prefactor.Option{
		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
		prefactortest.FastRetries(),
	}, opts...)
	c, err := prefactor.NewClient(prefactortest.Token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, mock
}

// The whole lifecycle through httpmock, on the fake's store and record.
func TestResponderThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	tokens := prefactortest.FakeTokens(70)
	srv := lcServer(t, tokens...)
	c, mock := responderClient(t, srv)

	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	got, err := collect(ctx, c, &prefactor.ListAPITokensOptions{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := callersTokens(tokens); !sameJSON(t, got, want) {
		t.Errorf("All returned %v, want the caller's %d", ids(got), len(want))
	}
	tok, err := c.APITokens.Get(ctx, tokens[0].ID)
	if err != nil || tok.ID != tokens[0].ID || tok.AvailableActions == nil {
		t.Fatalf("Get: %+v, %v", tok, err)
	}
	created, err := c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if revoked, err := c.APITokens.Revoke(ctx, created.ID); err != nil || revoked.Status != prefactor.TokenStatusRevoked {
		t.Fatalf("Revoke: %+v, %v", revoked, err)
	}
	if err := c.APITokens.Delete(ctx, created.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.APITokens.Get(ctx, created.ID); !errors.Is(err, prefactor.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if n := len(srv.Tokens()); n != len(tokens) {
		t.Errorf("the store holds %d tokens, want the %d it started with", n, len(tokens))
	}

	var sent []string
	for _, r := range srv.Requests() {
		sent = append(sent, r.Method+" "+strings.TrimPrefix(r.Path, "/api/v1/"))
		if r.Header.Get("Authorization") != bearer {
			t.Errorf("%s %s recorded without the bearer token", r.Method, r.Path)
		}
	}
	id := created.ID
	want := []string{
		"GET ping", "GET api_token", "GET api_token", "GET api_token", "GET api_token", "GET api_token",
		"GET api_token/" + tokens[0].ID, "POST api_token", "POST api_token/" + id + "/revoke",
		"DELETE api_token/" + id, "GET api_token/" + id,
	}
	if !slices.Equal(sent, want) {
		t.Errorf("recorded\n%q\nwant\n%q", sent, want)
	}
	if n := mock.GetTotalCallCount(); n != len(want) || srv.RequestCount() != len(want) {
		t.Errorf("%d calls through the mock, %d requests counted; want %d", n, srv.RequestCount(), len(want))
	}
	if body := srv.Requests()[7].Body; !strings.Contains(string(body), `"token_scope":"account"`) {
		t.Errorf("create body recorded as %s", body)
	}
}

// Through the responder and over the listener, the fake gives the same
// answer, byte for byte.
func TestResponderAnswersLikeTheServer(t *testing.T) {
	tokens := prefactortest.FakeTokens(5)
	for _, r := range []struct{ method, target, auth string }{
		{http.MethodGet, listPath + "?pagination%5Bpage_size%5D=2&sorting=-status", bearer},
		{http.MethodGet, listPath + "?sorting=title", bearer},
		{http.MethodGet, tokenPath(tokens[0].ID), bearer},
		{http.MethodGet, tokenPath("nope"), bearer},
		{http.MethodPost, tokenPath(tokens[0].ID) + "/suspend", bearer},
		{http.MethodGet, "/api/v1/ping", "Bearer wrong"},
		{http.MethodGet, "/api/v1/elsewhere", bearer},
	} {
		// Two fakes, so that the suspend happens once on each.
		want := send(t, lcServer(t, tokens...), r.method, r.target, r.auth)
		got := respondTo(t, lcServer(t, tokens...).Responder(), r.method, r.target, r.auth)
		checkSameAnswer(t, r.method+" "+r.target, got, want)
	}
}

func TestResponderFaults(t *testing.T) {
	ctx := context.Background()
	tokens := prefactortest.FakeTokens(3)

	t.Run("aimed at a route, retried", func(t *testing.T) {
		srv := lcServer(t, tokens...)
		c, mock := responderClient(t, srv)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Method: http.MethodGet, Path: "/api/v1/api_token/*"})
		if _, err := c.APITokens.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.APITokens.Get(ctx, tokens[0].ID); err != nil {
			t.Fatal(err)
		}
		if n := mock.GetTotalCallCount(); n != 3 {
			t.Errorf("%d calls, want 3: the list, the failed get and its retry", n)
		}
	})

	t.Run("a disconnect is a transport error", func(t *testing.T) {
		srv := lcServer(t, tokens...)
		c, _ := responderClient(t, srv, prefactor.WithMaxRetries(0))
		srv.FailNext(1, prefactortest.Fault{Disconnect: true})
		_, err := c.APITokens.List(ctx, nil)
		var apiErr *prefactor.APIError
		if err == nil || errors.As(err, &apiErr) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %v, want a transport error", err)
		}
	})

	t.Run("a disconnect after handling, retried with the same key", func(t *testing.T) {
		srv := lcServer(t, tokens...)
		c, _ := responderClient(t, srv)
		srv.FailNext(1, prefactortest.Fault{Disconnect: true, AfterHandling: true, Method: http.MethodPost})
		if _, err := c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount}); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Tokens()); n != len(tokens)+1 {
			t.Errorf("%d tokens, want %d: one create, carried out once", n, len(tokens)+1)
		}
	})

	t.Run("an error status", func(t *testing.T) {
		srv := lcServer(t, tokens...)
		c, _ := responderClient(t, srv)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusUnprocessableEntity, Code: prefactor.CodeInvalidAction, Message: "no"})
		_, err := c.APITokens.Revoke(ctx, tokens[0].ID)
		if e := apiError(t, err); e.StatusCode != http.StatusUnprocessableEntity || e.Code != prefactor.CodeInvalidAction {
			t.Errorf("got %+v", e)
		}
	})
}

func TestResponderThrottles(t *testing.T) {
	srv := lcServer(t, prefactortest.FakeTokens(3)...)
	srv.SetConcurrencyLimit(1)
	srv.SetThrottleRetryAfter(0)
	admitted, release := holdRequests(t, srv)
	c, _ := responderClient(t, srv)

	done := make(chan error, 1)
	go func() {
		_, err := c.APITokens.List(context.Background(), nil)
		done <- err
	}()
	awaitAdmitted(t, admitted, 1) // the list holds the only place

	req, err := http.NewRequest(http.MethodGet, "https://app.prefactorai.com/api/v1/ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer)
	resp, err := srv.Responder()(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "0" {
		t.Errorf("status %d, Retry-After %q; want 429 and 0", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	release()
	if err := <-done; err != nil {
		t.Errorf("the held list: %v", err)
	}
	if n := srv.Throttled(); n != 1 {
		t.Errorf("%d requests throttled, want 1", n)
	}
}

func TestResponderLatencyAndClose(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	srv.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://app.prefactorai.com/api/v1/ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer)
	if resp, err := srv.Responder()(req); !errors.Is(err, context.Canceled) || resp != nil {
		t.Errorf("a cancelled request waiting out the latency: %v, %v; want context.Canceled", resp, err)
	}
	if n := srv.RequestCount(); n != 1 {
		t.Errorf("%d requests counted, want 1", n)
	}

	srv.Close()
	if _, err := srv.Responder()(req.WithContext(context.Background())); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v, want an error saying the fake is closed", err)
	}
	if n := srv.RequestCount(); n != 1 {
		t.Errorf("%d requests counted after Close, want still 1", n)
	}
}
