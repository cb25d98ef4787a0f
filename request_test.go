package prefactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// These tests send every method through the one request path to a
// loopback server (setup) that answers what the fake of prefactortest
// cannot (204 and 202 to a delete, an X-Request-Id on every answer, empty
// bodies, odd envelopes), and check what goes on the wire and what comes
// back: Delete's body, Ping, WithResponseInto, and what a 2xx envelope may
// leave out. The tests that need only the fake are in
// request_fake_test.go.

// Delete sends its idempotency key as the JSON body {"idempotency_key":…},
// the same bytes on the retry after a 503, and takes any 2xx answer.
func TestDeleteSendsKeyInBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []RequestOption
		key    string // "" for a generated one
		status int
		body   string
	}{
		{"200 with details", nil, "", http.StatusOK, detailsJSON("tok_a")},
		{"204", nil, "", http.StatusNoContent, ""},
		{"202", nil, "", http.StatusAccepted, `{"status":"success"}`},
		{"caller's key", []RequestOption{WithIdempotencyKey(`kéy "/+<>`)}, `kéy "/+<>`, http.StatusOK, detailsJSON("tok_a")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					reply(w, http.StatusServiceUnavailable, `{"status":"error","code":"unexpected","message":"busy"}`)
					return
				}
				reply(w, tc.status, tc.body)
			})
			if err := c.APITokens.Delete(context.Background(), "tok_a", tc.opts...); err != nil {
				t.Fatalf("Delete after a 503, then %d: %v", tc.status, err)
			}
			if rec.count() != 2 {
				t.Fatalf("server saw %d requests, want 2", rec.count())
			}
			b := [][]byte{rec.body(0), rec.body(1)}
			if !bytes.Equal(b[0], b[1]) {
				t.Errorf("the retry's body differs:\n first %q\n retry %q", b[0], b[1])
			}
			var sent map[string]any
			if err := json.Unmarshal(b[0], &sent); err != nil {
				t.Fatalf("body %q is not a JSON object: %v", b[0], err)
			}
			key, _ := sent["idempotency_key"].(string)
			if len(sent) != 1 || key == "" || (tc.key != "" && key != tc.key) {
				t.Errorf("body %q: want exactly {\"idempotency_key\": %q}", b[0], tc.key)
			}
			for i := range 2 {
				r := rec.get(i)
				if r.Method != http.MethodDelete || r.URL.Path != basePrefix+"/api/v1/api_token/tok_a" || r.URL.RawQuery != "" {
					t.Errorf("attempt %d: %s %s?%s, want DELETE of the token with no query", i+1, r.Method, r.URL.Path, r.URL.RawQuery)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("attempt %d: Content-Type %q, want application/json", i+1, ct)
				}
			}
		})
	}
}

func TestPing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		code   ErrorCode // "" for success
	}{
		{"200 with a body", http.StatusOK, `{"status":"success"}`, ""},
		{"200 without a body", http.StatusOK, "", ""},
		{"204", http.StatusNoContent, "", ""},
		{"401 bad token", http.StatusUnauthorized, `{"status":"error","code":"bad_authtoken","message":"invalid token"}`, CodeBadAuthToken},
		{"401 no token", http.StatusUnauthorized, `{"status":"error","code":"not_authenticated","message":"sign in"}`, CodeNotAuthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				reply(w, tc.status, tc.body)
			})
			err := c.Ping(context.Background())
			if rec.count() != 1 {
				t.Fatalf("server saw %d requests, want 1", rec.count())
			}
			r := rec.get(0)
			if r.Method != http.MethodGet || r.URL.Path != basePrefix+"/api/v1/ping" || r.URL.RawQuery != "" {
				t.Errorf("request %s %s?%s, want GET %s/api/v1/ping", r.Method, r.URL.Path, r.URL.RawQuery, basePrefix)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q, want the bearer token", got)
			}
			if tc.code == "" {
				if err != nil {
					t.Errorf("Ping: %v, want nil", err)
				}
				return
			}
			apiErr := asAPIError(t, err)
			if apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != tc.code || apiErr.Attempts != 1 {
				t.Errorf("APIError %+v, want 401 %s after one attempt", apiErr, tc.code)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: ping: ") {
				t.Errorf("error %q does not name the operation", err)
			}
			noSecret(t, "Ping error", err.Error())
		})
	}
}

// wantResponse checks a response WithResponseInto stored: its status and
// X-Request-Id, and a body that gives nothing.
func wantResponse(t *testing.T, what string, resp *http.Response, status int, requestID string) {
	t.Helper()
	if resp == nil {
		t.Errorf("%s: no response stored", what)
		return
	}
	if resp.StatusCode != status || resp.Header.Get("X-Request-Id") != requestID {
		t.Errorf("%s: stored response %d with X-Request-Id %q, want %d with %q", what, resp.StatusCode, resp.Header.Get("X-Request-Id"), status, requestID)
	}
	if resp.Body != http.NoBody {
		t.Errorf("%s: stored response's Body is %T, want http.NoBody", what, resp.Body)
	}
	if b, err := io.ReadAll(resp.Body); len(b) != 0 || err != nil {
		t.Errorf("%s: reading the stored body gave %q, %v; want nothing", what, b, err)
	}
}

// WithResponseInto stores the last response of every method: the
// success, the last of its retries, or the HTTP error it ended with.
func TestWithResponseIntoEveryMethod(t *testing.T) {
	status := map[string]int{"Create": http.StatusCreated, "Delete": http.StatusNoContent}
	for _, tc := range everyCall {
		t.Run(tc.Name, func(t *testing.T) {
			want := http.StatusOK
			if s, ok := status[tc.Name]; ok {
				want = s
			}
			// Success after a retry: the second response is stored.
			c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("X-Request-Id", "req-1")
					reply(w, http.StatusServiceUnavailable, `{"status":"error","code":"unexpected","message":"busy"}`)
					return
				}
				apiReply(w, r, n)
			})
			var resp *http.Response
			if _, err := tc.Call(context.Background(), c, "tok_a", WithResponseInto(&resp)); err != nil {
				t.Fatal(err)
			}
			wantResponse(t, "success", resp, want, "req-2")

			// An HTTP error: stored too, with the error returned.
			c, _ = setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("X-Request-Id", "req-404")
				reply(w, http.StatusNotFound, `{"status":"error","code":"not_found","message":"no such token"}`)
			})
			resp = nil
			_, err := tc.Call(context.Background(), c, "tok_a", WithResponseInto(&resp))
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("want ErrNotFound, got %v", err)
			}
			wantResponse(t, "404", resp, http.StatusNotFound, "req-404")

			// No response at all: the destination is left alone.
			c, _ = setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
				panic(http.ErrAbortHandler) // close the connection without answering
			}, WithMaxRetries(0))
			before := &http.Response{StatusCode: 999}
			resp = before
			if _, err := tc.Call(context.Background(), c, "tok_a", WithResponseInto(&resp)); err == nil {
				t.Error("no error from a connection closed without an answer")
			}
			if resp != before {
				t.Errorf("after a transport error the destination holds %+v, want it left alone", resp)
			}
		})
	}
}

// WithResponseInto on All holds the response of the page whose items are
// being yielded, and after the loop that of the last page: sequential and
// with pages fetched in parallel. Run with -race: the destination is
// written while requests are in flight.
func TestWithResponseIntoAll(t *testing.T) {
	const size, n = 2, 20
	for _, concurrency := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency %d", concurrency), func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				offset, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
				w.Header().Set("X-Request-Id", "page-"+strconv.Itoa(offset/size))
				reply(w, http.StatusOK, pagesJSON(offset/size, size, n))
			})
			var resp *http.Response
			i := 0
			for tok, err := range c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: size}, WithConcurrency(concurrency), WithResponseInto(&resp)) {
				if err != nil {
					t.Fatal(err)
				}
				if tok.ID != tokenID(i) {
					t.Fatalf("item %d is %s, want %s", i, tok.ID, tokenID(i))
				}
				wantResponse(t, "during "+tok.ID, resp, http.StatusOK, "page-"+strconv.Itoa(i/size))
				i++
			}
			if i != n {
				t.Fatalf("yielded %d tokens, want %d", i, n)
			}
			wantResponse(t, "after the loop", resp, http.StatusOK, "page-"+strconv.Itoa(n/size-1))
			if rec.count() != n/size {
				t.Errorf("server saw %d requests, want %d", rec.count(), n/size)
			}
		})
	}
}

// A 2xx may leave "status" out; a status other than "success" is an
// error, which is not retried. (Delete and Ping read no body.)
func TestSuccessEnvelopeStatus(t *testing.T) {
	unstatus := func(body string) string { return strings.Replace(body, `"status":"success",`, "", 1) }
	withStatus := func(body, status string) string {
		return strings.Replace(body, `"status":"success"`, `"status":`+status, 1)
	}
	for _, tc := range everyCall {
		if tc.Name == "Delete" || tc.Name == "Ping" {
			continue
		}
		for _, v := range []struct {
			name   string
			change func(body string) string
			ok     bool
		}{
			{"without status", unstatus, true},
			{"status null", func(b string) string { return withStatus(b, "null") }, true},
			{`status "error"`, func(b string) string { return withStatus(b, `"error"`) }, false},
			{`status "ok"`, func(b string) string { return withStatus(b, `"ok"`) }, false},
			{`status "Success"`, func(b string) string { return withStatus(b, `"Success"`) }, false},
		} {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				status, body := apiAnswer(r)
				reply(w, status, v.change(body))
			})
			got, err := tc.Call(context.Background(), c, "tok_a")
			if v.ok {
				if err != nil {
					t.Errorf("%s %s: %v, want success", tc.Name, v.name, err)
				}
				if created, ok := got.(*CreatedAPIToken); ok && (created.ID != "tok_new" || created.Token.Reveal() != "pf_new_value") {
					t.Errorf("%s %s: created %+v, want tok_new with its value", tc.Name, v.name, created)
				}
				continue
			}
			var apiErr *APIError
			if err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), "status") {
				t.Errorf("%s %s: %v, want an error about the status that is no *APIError", tc.Name, v.name, err)
			}
			if rec.count() != 1 {
				t.Errorf("%s %s: server saw %d requests, want 1 (no retry)", tc.Name, v.name, rec.count())
			}
		}
	}
}

// The answers of TestListErrors (apitokens_test.go) that have no body: a
// prefactortest.Fault always sends one.
func TestListEmptyBodies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		apiErr *APIError // nil: not an API error
		want   string    // a substring of err.Error()
	}{
		{"no content", 204, nil, "decoding response: empty body (status 204)"},
		{"empty error body", 403, &APIError{StatusCode: 403}, "403 Forbidden"},
		{"empty body", 200, nil, "decoding response: empty body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("X-Request-Id", "req-123")
				reply(w, tc.status, "")
			})
			_, err := c.APITokens.List(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			noSecret(t, "error", err.Error())
			if rec.count() != 1 {
				t.Errorf("%d requests, want 1 (not retried)", rec.count())
			}
			var apiErr *APIError
			if tc.apiErr == nil {
				if errors.As(err, &apiErr) {
					t.Errorf("got *APIError %v for a 2xx body", apiErr)
				}
				return
			}
			apiErr = asAPIError(t, err)
			want := *tc.apiErr
			want.Method, want.Path, want.RequestID, want.Attempts = "GET", basePrefix+"/api/v1/api_token", "req-123", 1
			if !reflect.DeepEqual(*apiErr, want) {
				t.Errorf("APIError =\n%#v\nwant\n%#v", *apiErr, want)
			}
			if errors.Is(err, ErrNotFound) {
				t.Error("errors.Is(err, ErrNotFound) = true")
			}
		})
	}
}

// TestResponseIntoScrubsTheRedirectChain: every request reachable from the
// response WithResponseInto hands out, through Request.Response.Request
// along the redirect chain, is without the Authorization header and
// prints no token: after a same-host 302, a 302 to another host, a 307 on
// Revoke, and a redirect loop the client refused.
func TestResponseIntoScrubsTheRedirectChain(t *testing.T) {
	ctx := context.Background()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
	}))
	t.Cleanup(other.Close)
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request, n int)
		call  func(c *Client, into **http.Response) error
		hops  int // requests in the chain handed out
	}{
		{
			name: "same-host 302",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					http.Redirect(w, r, basePrefix+"/api/v1/api_token/tok_2", http.StatusFound)
					return
				}
				reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_2")+`}`)
			},
			call: func(c *Client, into **http.Response) error {
				_, err := c.APITokens.Get(ctx, "tok_1", WithResponseInto(into))
				return err
			},
			hops: 2,
		},
		{
			name: "302 to another host",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				http.Redirect(w, r, other.URL+"/api/v1/api_token/tok_1", http.StatusFound)
			},
			call: func(c *Client, into **http.Response) error {
				_, err := c.APITokens.Get(ctx, "tok_1", WithResponseInto(into))
				return err
			},
			hops: 2,
		},
		{
			name: "307 on Revoke",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					http.Redirect(w, r, basePrefix+"/api/v1/api_token/tok_1/revoke2", http.StatusTemporaryRedirect)
					return
				}
				reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
			},
			call: func(c *Client, into **http.Response) error {
				_, err := c.APITokens.Revoke(ctx, "tok_1", WithResponseInto(into))
				return err
			},
			hops: 2,
		},
		{
			name: "refused redirect loop",
			serve: func(w http.ResponseWriter, r *http.Request, n int) {
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			},
			call: func(c *Client, into **http.Response) error {
				if _, err := c.APITokens.Get(ctx, "tok_1", WithResponseInto(into)); err == nil {
					return errors.New("a redirect loop succeeded")
				}
				return nil
			},
			hops: maxRedirects,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := setup(t, tc.serve)
			var resp *http.Response
			if err := tc.call(c, &resp); err != nil {
				t.Fatal(err)
			}
			hops := 0
			for r := resp; r != nil && r.Request != nil; r = r.Request.Response {
				hops++
				if h := r.Request.Header.Get("Authorization"); h != "" {
					t.Errorf("request %d of the chain carries Authorization %q", hops, h)
				}
				noSecret(t, fmt.Sprintf("request %d of the chain", hops), fmt.Sprintf("%+v %#v", r.Request, r.Request))
			}
			if hops != tc.hops {
				t.Errorf("the chain holds %d requests; want %d", hops, tc.hops)
			}
		})
	}
}
