package prefactor_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// Every attempt of every method names the SDK in X-Prefactor-SDK and in
// the User-Agent, retries included.
func TestEveryRequestNamesTheSDK(t *testing.T) {
	srv := withTokA(t)
	c := srv.Client(prefactor.WithUserAgent("audit-bot/2.1"))
	for _, tc := range prefactor.EveryCall {
		// Every call's first attempt fails, so its retry is checked too.
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Message: "busy"})
		if _, err := tc.Call(context.Background(), c, "tok_a"); err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
	}
	reqs := srv.Requests()
	if got, want := len(reqs), 2*len(prefactor.EveryCall); got != want {
		t.Fatalf("server saw %d requests, want %d", got, want)
	}
	for _, r := range reqs {
		if got, want := r.Header.Get("X-Prefactor-SDK"), "prefactor-go@"+prefactor.Version; got != want {
			t.Errorf("%s %s: X-Prefactor-SDK = %q, want %q", r.Method, r.Path, got, want)
		}
		if got, want := r.Header.Get("User-Agent"), "prefactor-go/"+prefactor.Version+" audit-bot/2.1"; got != want {
			t.Errorf("%s %s: User-Agent = %q, want %q", r.Method, r.Path, got, want)
		}
	}
}

// Options that cannot be carried out are refused before anything is sent.
func TestRequestOptionsRefusedBeforeSending(t *testing.T) {
	srv := withTokA(t)
	c := srv.Client()
	for _, tc := range prefactor.EveryCall {
		_, err := tc.Call(context.Background(), c, "tok_a", prefactor.WithResponseInto(nil))
		if !errors.Is(err, prefactor.ErrInvalidArgument) {
			t.Errorf("%s(WithResponseInto(nil)): %v, want ErrInvalidArgument", tc.Name, err)
		}
	}
	conflict := &prefactor.ListAPITokensOptions{IdempotencyKey: "key-a"}
	if _, err := c.APITokens.List(context.Background(), conflict, prefactor.WithIdempotencyKey("key-b")); !errors.Is(err, prefactor.ErrInvalidArgument) {
		t.Errorf("List with two different keys: %v, want ErrInvalidArgument", err)
	}
	for _, err := range c.APITokens.All(context.Background(), conflict, prefactor.WithIdempotencyKey("key-b")) {
		if !errors.Is(err, prefactor.ErrInvalidArgument) {
			t.Errorf("All with two different keys: %v, want ErrInvalidArgument", err)
		}
	}
	if srv.RequestCount() != 0 {
		t.Errorf("server saw %d requests, want none", srv.RequestCount())
	}
}

// On List and All, WithIdempotencyKey is the idempotency_key query
// parameter (the first page's only); the same key in the options too is no
// conflict.
func TestListIdempotencyKeyOption(t *testing.T) {
	const size, n = 2, 6
	srv, _ := newFake(t, n)
	c := srv.Client()
	ctx := context.Background()
	if _, err := c.APITokens.List(ctx, &prefactor.ListAPITokensOptions{PageSize: size}, prefactor.WithIdempotencyKey("key-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.APITokens.List(ctx, &prefactor.ListAPITokensOptions{PageSize: size, IdempotencyKey: "key-2"}, prefactor.WithIdempotencyKey("key-2")); err != nil {
		t.Fatal(err)
	}
	for _, concurrency := range []int{1, 4} {
		for _, err := range c.APITokens.All(ctx, &prefactor.ListAPITokensOptions{PageSize: size}, prefactor.WithIdempotencyKey("key-3"), prefactor.WithConcurrency(concurrency)) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"key-1", "key-2", "key-3", "", "", "key-3", "", ""}
	reqs := srv.Requests()
	if len(reqs) != len(want) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), len(want))
	}
	for i, key := range want {
		q := reqs[i].Query
		if got := q.Get("idempotency_key"); got != key || len(q["idempotency_key"]) > 1 {
			t.Errorf("request %d (%s): idempotency_key %q, want %q once", i+1, reqs[i].RawQuery, got, key)
		}
	}
}

// Get and Ping take WithConcurrency and WithIdempotencyKey and do nothing
// with them: one plain GET.
func TestGetAndPingIgnoreOtherOptions(t *testing.T) {
	srv := withTokA(t)
	c := srv.Client()
	opts := []prefactor.RequestOption{prefactor.WithConcurrency(4), prefactor.WithIdempotencyKey("key-1"), nil}
	if _, err := c.APITokens.Get(context.Background(), "tok_a", opts...); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background(), opts...); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != http.MethodGet || r.RawQuery != "" || len(r.Body) > 0 || r.Header.Get("Content-Type") != "" {
			t.Errorf("request %d: %s %s?%s with %d body bytes, want a plain GET", i+1, r.Method, r.Path, r.RawQuery, len(r.Body))
		}
	}
}
