package prefactortest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// holdRequests makes srv hold every request it admits until release is
// called, and returns a channel that receives once per admitted request.
// release is also registered with t.Cleanup, so a failing test never leaves
// a request hanging.
func holdRequests(t *testing.T, srv *prefactortest.Server) (admitted <-chan struct{}, release func()) {
	t.Helper()
	in := make(chan struct{}, 64)
	gate := make(chan struct{})
	prefactortest.OnAdmit(srv, func() {
		in <- struct{}{}
		<-gate
	})
	closed := false
	release = func() {
		if !closed {
			closed = true
			close(gate)
		}
	}
	t.Cleanup(release)
	return in, release
}

// awaitAdmitted waits until n requests were admitted.
func awaitAdmitted(t *testing.T, admitted <-chan struct{}, n int) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for i := range n {
		select {
		case <-admitted:
		case <-deadline.C:
			t.Fatalf("%d of %d requests admitted within %s", i, n, waitLimit)
		}
	}
}

// listInBackground sends an authenticated GET of the list to srv from a
// goroutine and returns a channel that receives its answer (status 0 when
// the request failed).
func listInBackground(srv *prefactortest.Server) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL()+listPath, nil)
		if err != nil {
			out <- answer{}
			return
		}
		req.Header.Set("Authorization", bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- answer{}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			out <- answer{}
			return
		}
		out <- answer{status: resp.StatusCode, header: resp.Header, body: body}
	}()
	return out
}

func awaitAnswer(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(waitLimit):
		t.Fatalf("no answer within %s", waitLimit)
		return answer{}
	}
}

func TestSetConcurrencyLimit(t *testing.T) {
	t.Run("n in flight, the rest 429", func(t *testing.T) {
		const n, extra = 3, 4
		srv := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
		srv.SetConcurrencyLimit(n)
		admitted, release := holdRequests(t, srv)
		held := make([]<-chan answer, n)
		for i := range held {
			held[i] = listInBackground(srv)
		}
		awaitAdmitted(t, admitted, n)

		for i := range extra {
			a := awaitAnswer(t, listInBackground(srv)) // bounded: an admitted one would hang
			e := decodeError(t, a, http.StatusTooManyRequests)
			if e.Code != string(prefactor.CodeUnknown) || e.Message != "too many requests in flight: at most 3 at once" {
				t.Errorf("429 body %s", a.body)
			}
			if got := a.header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After %q, want 1", got)
			}
			if got := srv.Throttled(); got != i+1 {
				t.Errorf("Throttled() = %d after %d refusals", got, i+1)
			}
		}
		select {
		case <-admitted:
			t.Fatal("a request over the limit was admitted")
		default:
		}

		release()
		for i, ch := range held {
			if l := decodeList(t, awaitAnswer(t, ch)); len(l.Summaries) != 2 {
				t.Errorf("held request %d: %d tokens, want 2", i, len(l.Summaries))
			}
		}
		// Every place is free again.
		for range n + 1 {
			decodeList(t, get(t, srv, "", bearer))
		}
		if got := srv.Throttled(); got != extra {
			t.Errorf("Throttled() = %d, want %d", got, extra)
		}
		if got := len(srv.Requests()); got != n+extra+n+1 {
			t.Errorf("%d requests recorded, want %d (refused ones too)", got, n+extra+n+1)
		}
	})

	t.Run("a place frees when the answer starts", func(t *testing.T) {
		tokens := callersTokens(prefactortest.FakeTokens(400))
		srv := prefactortest.NewServer(t, tokens...)
		srv.SetConcurrencyLimit(1)
		c := srv.Client(prefactor.WithMaxRetries(0))
		// One request after another, each sent only after the last answer
		// arrived, never meets the limit: the pages of a walk, then errors
		// (401, 404) and a disconnect, each followed by a list.
		n := 0
		for _, err := range c.APITokens.All(context.Background(), &prefactor.ListAPITokensOptions{PageSize: 100}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != len(tokens) || n <= 200 {
			t.Fatalf("walk yielded %d tokens, want %d (over 2 pages)", n, len(tokens))
		}
		decodeError(t, get(t, srv, "", ""), http.StatusUnauthorized)
		decodeError(t, send(t, srv, http.MethodGet, "/api/v1/nowhere", bearer), http.StatusNotFound)
		before := len(srv.Requests())
		srv.FailNext(1, prefactortest.Fault{Disconnect: true})
		// net/http may resend a GET whose reused connection dropped; either
		// way the next request must be admitted.
		_, _ = c.APITokens.List(context.Background(), nil)
		decodeList(t, get(t, srv, "", bearer))
		if got := len(srv.Requests()) - before; got < 2 {
			t.Fatalf("%d requests after the disconnect, want 2 or more", got)
		}
		if got := srv.Throttled(); got != 0 {
			t.Errorf("Throttled() = %d for requests sent one at a time", got)
		}
	})

	t.Run("0 removes the limit", func(t *testing.T) {
		const n = 5
		srv := prefactortest.NewServer(t)
		srv.SetConcurrencyLimit(1)
		srv.SetConcurrencyLimit(0)
		admitted, release := holdRequests(t, srv)
		held := make([]<-chan answer, n)
		for i := range held {
			held[i] = listInBackground(srv)
		}
		awaitAdmitted(t, admitted, n)
		release()
		for _, ch := range held {
			decodeList(t, awaitAnswer(t, ch))
		}
		if got := srv.Throttled(); got != 0 {
			t.Errorf("Throttled() = %d without a limit", got)
		}
	})

	t.Run("a refused request uses up no fault", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.SetConcurrencyLimit(1)
		admitted, release := holdRequests(t, srv)
		held := listInBackground(srv)
		awaitAdmitted(t, admitted, 1)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusBadGateway})
		decodeError(t, awaitAnswer(t, listInBackground(srv)), http.StatusTooManyRequests)
		release()
		decodeList(t, awaitAnswer(t, held))
		prefactortest.OnAdmit(srv, nil)
		decodeError(t, get(t, srv, "", bearer), http.StatusBadGateway)
		decodeList(t, get(t, srv, "", bearer))
	})

	t.Run("Retry-After", func(t *testing.T) {
		for _, tc := range []struct {
			set  bool
			d    time.Duration
			want []string
		}{
			{false, 0, []string{"1"}},
			{true, 0, []string{"0"}},
			{true, 1500 * time.Millisecond, []string{"2"}},
			{true, 3 * time.Second, []string{"3"}},
			{true, -1, nil},
		} {
			srv := prefactortest.NewServer(t)
			srv.SetConcurrencyLimit(1)
			if tc.set {
				srv.SetThrottleRetryAfter(tc.d)
			}
			admitted, release := holdRequests(t, srv)
			held := listInBackground(srv)
			awaitAdmitted(t, admitted, 1)
			a := awaitAnswer(t, listInBackground(srv))
			decodeError(t, a, http.StatusTooManyRequests)
			if got := a.header.Values("Retry-After"); !slices.Equal(got, tc.want) {
				t.Errorf("SetThrottleRetryAfter(%v) (set %v): Retry-After %q, want %q", tc.d, tc.set, got, tc.want)
			}
			release()
			awaitAnswer(t, held)
		}
	})

	t.Run("the client sees a rate-limit error", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.SetConcurrencyLimit(1)
		srv.SetThrottleRetryAfter(2 * time.Second)
		admitted, release := holdRequests(t, srv)
		held := listInBackground(srv)
		awaitAdmitted(t, admitted, 1)
		_, err := srv.Client(prefactor.WithMaxRetries(0)).APITokens.List(context.Background(), nil)
		var e *prefactor.APIError
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *APIError", err)
		}
		if e.StatusCode != http.StatusTooManyRequests || e.Code != prefactor.CodeUnknown || e.RetryAfter != 2*time.Second {
			t.Errorf("got %+v", e)
		}
		release()
		awaitAnswer(t, held)
	})
}
