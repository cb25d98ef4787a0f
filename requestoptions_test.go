package prefactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Options that cannot be carried out are refused before anything is sent.
func TestRequestOptionsRefusedBeforeSending(t *testing.T) {
	ctx := context.Background()
	c, rec := setup(t, apiReply)
	for _, tc := range everyCall {
		_, err := tc.Call(ctx, c, "tok_a", WithResponseInto(nil))
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s(WithResponseInto(nil)): %v, want ErrInvalidArgument", tc.Name, err)
		}
	}
	conflict := &ListAPITokensOptions{IdempotencyKey: "key-a"}
	if _, err := c.APITokens.List(ctx, conflict, WithIdempotencyKey("key-b")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("List with two different keys: %v, want ErrInvalidArgument", err)
	}
	for _, err := range c.APITokens.All(ctx, conflict, WithIdempotencyKey("key-b")) {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("All with two different keys: %v, want ErrInvalidArgument", err)
		}
	}
	if rec.count() != 0 {
		t.Errorf("server saw %d requests, want none", rec.count())
	}
}

// Get and Ping take WithConcurrency and WithIdempotencyKey and do nothing
// with them: one plain GET.
func TestGetAndPingIgnoreOtherOptions(t *testing.T) {
	c, rec := setup(t, apiReply)
	opts := []RequestOption{WithConcurrency(4), WithIdempotencyKey("key-1"), nil}
	if _, err := c.APITokens.Get(context.Background(), "tok_a", opts...); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background(), opts...); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 2 {
		t.Fatalf("server saw %d requests, want 2", rec.count())
	}
	for i := range 2 {
		r := rec.get(i)
		if r.Method != http.MethodGet || r.URL.RawQuery != "" || len(rec.body(i)) > 0 || r.Header.Get("Content-Type") != "" {
			t.Errorf("request %d: %s %s?%s with %d body bytes, want a plain GET", i+1, r.Method, r.URL.Path, r.URL.RawQuery, len(rec.body(i)))
		}
	}
}

// On List and All, WithIdempotencyKey is the idempotency_key query
// parameter (the first page's only); the same key in the options too is no
// conflict.
func TestListIdempotencyKeyOption(t *testing.T) {
	const size, n = 2, 6
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
		reply(w, http.StatusOK, pagesJSON(offset/size, size, n))
	})
	ctx := context.Background()
	if _, err := c.APITokens.List(ctx, &ListAPITokensOptions{PageSize: size}, WithIdempotencyKey("key-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.APITokens.List(ctx, &ListAPITokensOptions{PageSize: size, IdempotencyKey: "key-2"}, WithIdempotencyKey("key-2")); err != nil {
		t.Fatal(err)
	}
	for _, concurrency := range []int{1, 4} {
		for _, err := range c.APITokens.All(ctx, &ListAPITokensOptions{PageSize: size}, WithIdempotencyKey("key-3"), WithConcurrency(concurrency)) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"key-1", "key-2", "key-3", "", "", "key-3", "", ""}
	if rec.count() != len(want) {
		t.Fatalf("server saw %d requests, want %d", rec.count(), len(want))
	}
	for i, key := range want {
		r := rec.get(i)
		q := r.URL.Query()
		if got := q.Get("idempotency_key"); got != key || len(q["idempotency_key"]) > 1 {
			t.Errorf("request %d (%s): idempotency_key %q, want %q once", i+1, r.URL.RawQuery, got, key)
		}
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

// The response WithResponseInto hands out does not carry the bearer token.
func TestWithResponseIntoHoldsNoToken(t *testing.T) {
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
	})
	var resp *http.Response
	if _, err := c.APITokens.Get(context.Background(), "tok_1", WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Request == nil || resp.Request.Method != http.MethodGet || !strings.HasSuffix(resp.Request.URL.Path, "/api_token/tok_1") {
		t.Fatalf("request %+v; want the GET that was sent", resp.Request)
	}
	if h := resp.Request.Header.Get("Authorization"); h != "" {
		t.Errorf("the handed-out request carries Authorization %q", h)
	}
	if got := fmt.Sprintf("%+v", resp.Request); strings.Contains(got, testToken) {
		t.Error("the handed-out request prints the token")
	}
}

// TestWithResponseIntoScrubsTheRedirectChain: every request reachable from
// the response WithResponseInto hands out, through Request.Response.Request
// along the redirect chain, is without the Authorization header and prints
// no token: after a same-host 302, a 302 to another host, a 307 on
// Revoke, and a redirect loop the client refused.
func TestWithResponseIntoScrubsTheRedirectChain(t *testing.T) {
	ctx := context.Background()
	other := newTestServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		reply(w, 200, `{"status":"success","details":`+tokenJSON("tok_1")+`}`)
	})
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
				http.Redirect(w, r, other.URL+basePrefix+"/api/v1/api_token/tok_1", http.StatusFound)
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
