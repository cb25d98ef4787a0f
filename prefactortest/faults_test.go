package prefactortest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

func TestFailNext(t *testing.T) {
	ctx := context.Background()

	t.Run("status, code and message reach the caller", func(t *testing.T) {
		srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusForbidden, Code: prefactor.CodeNotPermitted, Message: "no access to this account"})
		_, err := srv.Client().APITokens.List(ctx, nil)
		e := apiError(t, err)
		if e.StatusCode != http.StatusForbidden || e.Code != prefactor.CodeNotPermitted || e.Message != "no access to this account" {
			t.Errorf("got %+v", e)
		}
		if _, err := srv.Client().APITokens.List(ctx, nil); err != nil {
			t.Errorf("the request after the fault failed: %v", err)
		}
	})

	t.Run("defaults", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.FailNext(1, prefactortest.Fault{})
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusNotFound})
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusTooManyRequests})
		for _, want := range []struct {
			status int
			code   string
			msg    string
		}{
			{500, "unexpected", "Internal Server Error"},
			{404, "not_found", "Not Found"},
			{429, "unexpected", "Too Many Requests"},
		} {
			e := decodeError(t, get(t, srv, "", bearer), want.status)
			if e.Code != want.code || e.Message != want.msg {
				t.Errorf("status %d: got %+v", want.status, e)
			}
		}
	})

	t.Run("next n, then normal; retries see them", func(t *testing.T) {
		srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
		srv.FailNext(2, prefactortest.Fault{Status: http.StatusServiceUnavailable})
		page, err := srv.Client().APITokens.List(ctx, nil) // 3 retries by default
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 2 || len(srv.Requests()) != 3 {
			t.Errorf("%d items after %d requests; want 2 after 3", len(page.Items), len(srv.Requests()))
		}
	})

	t.Run("more failures than retries", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.FailNext(5, prefactortest.Fault{Status: http.StatusBadGateway})
		_, err := srv.Client(prefactor.WithMaxRetries(2)).APITokens.List(ctx, nil)
		e := apiError(t, err)
		if e.StatusCode != http.StatusBadGateway || e.Attempts != 3 {
			t.Errorf("got %+v, want 502 after 3 attempts", e)
		}
		// Two of the five faults are left.
		for range 2 {
			decodeError(t, get(t, srv, "", bearer), http.StatusBadGateway)
		}
		decodeList(t, get(t, srv, "", bearer))
	})

	t.Run("faults queue in order", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusBadRequest})
		srv.FailNext(2, prefactortest.Fault{Status: http.StatusConflict})
		srv.FailNext(0, prefactortest.Fault{Status: http.StatusTeapot}) // does nothing
		for _, want := range []int{400, 409, 409, 200} {
			if got := get(t, srv, "", bearer).status; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
		}
	})

	t.Run("before authentication", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable})
		decodeError(t, get(t, srv, "", ""), http.StatusServiceUnavailable)
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests recorded, want 1", n)
		}
	})
}

func TestFaultRetryAfter(t *testing.T) {
	ctx := context.Background()

	t.Run("header in whole seconds, rounded up", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
		a := get(t, srv, "", bearer)
		decodeError(t, a, http.StatusTooManyRequests)
		if got := a.header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After %q, want 2", got)
		}
	})

	t.Run("reaches APIError", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 90 * time.Second})
		_, err := srv.Client().APITokens.List(ctx, nil) // 90 s is over the client's 60 s limit: no wait
		e := apiError(t, err)
		if e.StatusCode != http.StatusTooManyRequests || e.RetryAfter != 90*time.Second {
			t.Errorf("got %+v, want 429 with RetryAfter 90s", e)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})

	t.Run("through Header, honoured by retries", func(t *testing.T) {
		srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"0"}, "X-Request-Id": {"req-1"}}})
		a := get(t, srv, "", bearer)
		if a.header.Get("Retry-After") != "0" || a.header.Get("X-Request-Id") != "req-1" {
			t.Errorf("headers %v", a.header)
		}
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"0"}}})
		page, err := srv.Client().APITokens.List(ctx, nil)
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("List after one 503: %v", err)
		}
	})
}

func TestFaultBody(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t)

	srv.FailNext(1, prefactortest.Fault{Status: http.StatusBadGateway, Body: "<html><h1>502 Bad Gateway</h1></html>", Header: http.Header{"Content-Type": {"text/html"}}})
	_, err := srv.Client(prefactor.WithMaxRetries(0)).APITokens.List(ctx, nil)
	e := apiError(t, err)
	if e.StatusCode != http.StatusBadGateway || e.Code != "" || !strings.Contains(e.Message, "502 Bad Gateway") {
		t.Errorf("got %+v", e)
	}

	srv.FailNext(1, prefactortest.Fault{Status: http.StatusOK, Body: `{"status":"success","summaries":{}}`})
	_, err = srv.Client().APITokens.List(ctx, nil)
	var ae *prefactor.APIError
	if err == nil || errors.As(err, &ae) {
		t.Errorf("malformed 200: got %v, want a decoding error", err)
	}

	srv.FailNext(1, prefactortest.Fault{Status: http.StatusInternalServerError, Body: "oops"})
	if a := get(t, srv, "", bearer); a.header.Get("Content-Type") != "text/plain; charset=utf-8" || string(a.body) != "oops" {
		t.Errorf("got %q, %q", a.header.Get("Content-Type"), a.body)
	}
}

func TestFaultDisconnect(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)

	srv.FailNext(1, prefactortest.Fault{Disconnect: true})
	_, err := srv.Client(prefactor.WithMaxRetries(0)).APITokens.List(ctx, nil)
	var ae *prefactor.APIError
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("got %v, want a transport error", err)
	}

	srv.FailNext(1, prefactortest.Fault{Disconnect: true})
	page, err := srv.Client().APITokens.List(ctx, nil)
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("a retried GET after a dropped connection: %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestSetLatency(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)

	t.Run("delays answers", func(t *testing.T) {
		const d = 40 * time.Millisecond
		srv.SetLatency(d)
		defer srv.SetLatency(0)
		start := time.Now()
		if _, err := srv.Client().APITokens.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < d {
			t.Errorf("answered after %s, want at least %s", took, d)
		}
	})

	t.Run("client timeout", func(t *testing.T) {
		srv.SetLatency(time.Hour)
		defer srv.SetLatency(0)
		_, err := srv.Client(prefactor.WithTimeout(20*time.Millisecond), prefactor.WithMaxRetries(0)).APITokens.List(ctx, nil)
		if err == nil {
			t.Fatal("no error from a request that outlived its timeout")
		}
	})

	t.Run("removed", func(t *testing.T) {
		srv.SetLatency(time.Hour)
		srv.SetLatency(0)
		if _, err := srv.Client(prefactor.WithTimeout(5*time.Second)).APITokens.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Close does not wait it out", func(t *testing.T) {
		srv, err := prefactortest.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		srv.SetLatency(time.Hour)
		status := getInBackground(srv)
		awaitRequest(t, srv, status) // the request is in, waiting out the latency
		srv.Close()
		if got := awaitStatus(t, status); got != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503 at once", got)
		}
	})
}

// A Fault with AfterHandling loses the answer of a request that was carried
// out. Only the idempotency key keeps a retry from doing it again, so these
// tests can fail: with another key, the retry makes a second token.
func TestFaultAfterHandling(t *testing.T) {
	ctx := context.Background()
	lost := prefactortest.Fault{Status: http.StatusServiceUnavailable, AfterHandling: true}
	create := func(key string) string {
		return `{"details":{"token_scope":"account"},"idempotency_key":"` + key + `"}`
	}

	t.Run("retry with the same key: one token", func(t *testing.T) {
		srv := lcServer(t)
		srv.FailNext(1, lost)
		decodeError(t, call(t, srv, http.MethodPost, listPath, create("k1")), http.StatusServiceUnavailable)
		if n := len(srv.Tokens()); n != 1 {
			t.Fatalf("%d tokens after the lost answer, want 1: the request was carried out", n)
		}
		w := decodeToken(t, call(t, srv, http.MethodPost, listPath, create("k1")), http.StatusCreated)
		if got := srv.Tokens(); len(got) != 1 || got[0].ID != w.Details.ID {
			t.Errorf("after the retry: %v, want only %s", ids(got), w.Details.ID)
		}
	})

	t.Run("retry with another key: two tokens", func(t *testing.T) {
		srv := lcServer(t)
		srv.FailNext(1, lost)
		decodeError(t, call(t, srv, http.MethodPost, listPath, create("k1")), http.StatusServiceUnavailable)
		decodeToken(t, call(t, srv, http.MethodPost, listPath, create("k2")), http.StatusCreated)
		if n := len(srv.Tokens()); n != 2 {
			t.Errorf("%d tokens, want 2: a new key is a new request", n)
		}
	})

	t.Run("the SDK's retry carries one key: one token", func(t *testing.T) {
		srv := lcServer(t)
		srv.FailNext(1, lost)
		created, err := srv.Client().APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Tokens(); len(got) != 1 || got[0].ID != created.ID {
			t.Errorf("tokens %v, want only %s", ids(got), created.ID)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 || requestKey(t, reqs[0]) == "" || requestKey(t, reqs[0]) != requestKey(t, reqs[1]) {
			t.Errorf("%d requests; want 2 with one key", len(reqs))
		}
	})

	t.Run("a second call is a new request: two tokens", func(t *testing.T) {
		srv := lcServer(t)
		srv.FailNext(1, lost)
		c := srv.Client(prefactor.WithMaxRetries(0))
		req := &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount}
		if _, err := c.APITokens.Create(ctx, req); apiError(t, err).StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("first call: %v", err)
		}
		if _, err := c.APITokens.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Tokens()); n != 2 {
			t.Errorf("%d tokens, want 2", n)
		}
	})

	t.Run("disconnect after a revoke", func(t *testing.T) {
		tok := prefactortest.FakeTokens(1)[0]
		srv := lcServer(t, tok)
		srv.FailNext(1, prefactortest.Fault{Disconnect: true, AfterHandling: true})
		got, err := srv.Client().APITokens.Revoke(ctx, tok.ID)
		if err != nil {
			t.Fatalf("Revoke after a dropped answer: %v", err)
		}
		if got.Status != prefactor.TokenStatusRevoked || srv.Tokens()[0].Status != prefactor.TokenStatusRevoked {
			t.Errorf("answer %s, store %s; want revoked", got.Status, srv.Tokens()[0].Status)
		}
		if n := len(srv.Requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})

	t.Run("a request without a key runs again", func(t *testing.T) {
		srv := lcServer(t)
		srv.FailNext(1, lost)
		body := `{"details":{"token_scope":"account"}}`
		decodeError(t, call(t, srv, http.MethodPost, listPath, body), http.StatusServiceUnavailable)
		decodeToken(t, call(t, srv, http.MethodPost, listPath, body), http.StatusCreated)
		if n := len(srv.Tokens()); n != 2 {
			t.Errorf("%d tokens, want 2", n)
		}
	})

	t.Run("without AfterHandling nothing is carried out", func(t *testing.T) {
		srv := lcServer(t)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable})
		decodeError(t, call(t, srv, http.MethodPost, listPath, create("k1")), http.StatusServiceUnavailable)
		if n := len(srv.Tokens()); n != 0 {
			t.Errorf("%d tokens, want 0", n)
		}
		// The key was not used up: another request with it is served.
		decodeToken(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"environment","environment_id":"e"},"idempotency_key":"k1"}`), http.StatusCreated)
	})
}

// rawError decodes an error answer with the given status without assuming
// the shape of "errors", and returns its code and "errors" (nil when the
// body has none).
func rawError(t *testing.T, a answer, status int) (code string, errs any) {
	t.Helper()
	var body struct {
		Status  string          `json:"status"`
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	decodeAnswer(t, a, status, &body)
	if body.Status != "error" || body.Code == "" || body.Message == "" {
		t.Errorf("error body %s lacks status, code or message", a.body)
	}
	if body.Errors != nil {
		if err := json.Unmarshal(body.Errors, &errs); err != nil {
			t.Fatal(err)
		}
	}
	return body.Code, errs
}

func TestFaultErrors(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
	errs := map[string]any{
		"details":         map[string]any{"agent_id": []string{"is not an agent of this account"}},
		"idempotency_key": []string{"is used", "is long"},
	}
	fault := prefactortest.Fault{
		Status:  http.StatusUnprocessableEntity,
		Code:    prefactor.CodeValidationErrors,
		Message: "validation failed",
		Errors:  errs,
	}
	const wantJSON = `{"details":{"agent_id":["is not an agent of this account"]},"idempotency_key":["is used","is long"]}`
	srv.FailNext(2, fault)
	errs["details"] = "changed after FailNext" // must not reach the answers

	code, got := rawError(t, get(t, srv, "", bearer), http.StatusUnprocessableEntity)
	var want any
	_ = json.Unmarshal([]byte(wantJSON), &want)
	if code != "validation_errors" || !reflect.DeepEqual(got, want) {
		t.Errorf("code %s, errors %v; want validation_errors, %s", code, got, wantJSON)
	}

	t.Run("through the SDK", func(t *testing.T) {
		_, err := srv.Client(prefactor.WithMaxRetries(0)).APITokens.List(context.Background(), nil)
		checkDetailsError(t, err, "agent_id", "is not an agent of this account")
	})

	t.Run("nil Errors sends none", func(t *testing.T) {
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusConflict})
		if _, got := rawError(t, get(t, srv, "", bearer), http.StatusConflict); got != nil {
			t.Errorf("errors %v, want none", got)
		}
	})

	t.Run("an Errors value JSON cannot hold", func(t *testing.T) {
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusUnprocessableEntity, Errors: map[string]any{"f": func() {}}})
		e := decodeError(t, get(t, srv, "", bearer), http.StatusInternalServerError)
		if e.Code != string(prefactor.CodeUnexpected) || !strings.Contains(e.Message, "Fault.Errors") {
			t.Errorf("got %+v", e)
		}
	})
}

// statuses sends each request (method and target, no body) to srv and
// returns the statuses of the answers.
func statuses(t *testing.T, srv *prefactortest.Server, requests ...[2]string) []int {
	t.Helper()
	var out []int
	for _, r := range requests {
		out = append(out, call(t, srv, r[0], r[1], "").status)
	}
	return out
}

func TestFaultAimedAtARoute(t *testing.T) {
	a, b := prefactortest.FakeTokens(2)[0].ID, prefactortest.FakeTokens(2)[1].ID
	list := [2]string{http.MethodGet, listPath}
	getA := [2]string{http.MethodGet, tokenPath(a)}
	revokeA := [2]string{http.MethodPost, tokenPath(a) + "/revoke"}
	revokeB := [2]string{http.MethodPost, tokenPath(b) + "/revoke"}
	const revokes = "/api/v1/api_token/*/revoke"

	tests := []struct {
		name     string
		faults   []prefactortest.Fault
		requests [][2]string
		want     []int
	}{
		{"method only",
			[]prefactortest.Fault{{Status: 500, Method: http.MethodPost}},
			[][2]string{list, getA, revokeA, revokeB}, []int{200, 200, 500, 200}},
		{"method in any case",
			[]prefactortest.Fault{{Status: 500, Method: "post"}},
			[][2]string{list, revokeA}, []int{200, 500}},
		{"path only",
			[]prefactortest.Fault{{Status: 500, Path: "/api/v1/api_token/*"}},
			[][2]string{list, revokeA, getA, getA}, []int{200, 200, 500, 200}},
		{"method and path",
			[]prefactortest.Fault{{Status: 500, Method: http.MethodPost, Path: revokes}},
			[][2]string{list, getA, revokeA, revokeB, list}, []int{200, 200, 500, 200, 200}},
		{"n counts matching requests only",
			[]prefactortest.Fault{{Status: 503, Method: http.MethodGet, Path: listPath}},
			[][2]string{getA, getA, list, list}, []int{200, 200, 503, 200}},
		{"a request takes the first fault that matches it",
			[]prefactortest.Fault{{Status: 500, Path: revokes}, {Status: 409}},
			[][2]string{list, revokeA, revokeB}, []int{409, 500, 200}},
		{"aimed faults keep their order",
			[]prefactortest.Fault{{Status: 500, Path: revokes}, {Status: 502, Path: revokes}},
			[][2]string{list, revokeA, list, revokeB}, []int{200, 500, 200, 502}},
		{"nothing matches",
			[]prefactortest.Fault{{Status: 500, Method: http.MethodDelete}, {Status: 500, Path: "/api/v1/ping"}},
			[][2]string{list, getA, revokeA}, []int{200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := lcServer(t, prefactortest.FakeTokens(2)...)
			for _, f := range tt.faults {
				srv.FailNext(1, f)
			}
			if got := statuses(t, srv, tt.requests...); !slices.Equal(got, tt.want) {
				t.Errorf("statuses %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("the pattern meets the unescaped path", func(t *testing.T) {
		srv := lcServer(t, tokenWith("a b", prefactor.TokenStatusActive))
		srv.FailNext(1, prefactortest.Fault{Status: 500, Path: "/api/v1/api_token/a b/revoke"})
		if got := statuses(t, srv, [2]string{http.MethodPost, "/api/v1/api_token/a%20b/revoke"}); !slices.Equal(got, []int{500}) {
			t.Errorf("statuses %v, want [500]", got)
		}
	})
}

// errorsTB is a testing.TB that keeps what Errorf reports instead of
// failing the test.
type errorsTB struct {
	testing.TB
	errs []string
}

func (tb *errorsTB) Errorf(format string, args ...any) {
	tb.errs = append(tb.errs, fmt.Sprintf(format, args...))
}

func TestFaultWithAMalformedPath(t *testing.T) {
	bad := prefactortest.Fault{Status: 500, Path: "/api/v1/api_token/[x"}

	t.Run("NewServer fails the test", func(t *testing.T) {
		tb := &errorsTB{TB: t}
		srv := prefactortest.NewServer(tb)
		srv.FailNext(1, bad)
		if len(tb.errs) != 1 || !strings.Contains(tb.errs[0], `Fault.Path "/api/v1/api_token/[x"`) || !strings.Contains(tb.errs[0], "syntax error in pattern") {
			t.Errorf("reported %q, want one error naming the pattern", tb.errs)
		}
		if got := get(t, srv, "", bearer).status; got != http.StatusOK {
			t.Errorf("status %d after a refused fault, want 200: nothing was queued", got)
		}
	})

	t.Run("Start drops the fault", func(t *testing.T) {
		srv, err := prefactortest.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		srv.FailNext(1, bad)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusTeapot})
		if got := get(t, srv, "", bearer).status; got != http.StatusTeapot {
			t.Errorf("status %d, want the well-formed fault's 418", got)
		}
	})
}
