package prefactor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// TestParallelWalkAgainstSlotLimitedServer: a parallel walk far more eager
// than the server (16 at once against 2 slots) fails no call, though each
// page may be retried only once: the 429s its own eagerness drew do not use
// up a page's retries. It yields every token once, in order, and draws a
// handful of 429s, not one per page. The first burst draws 14 (16 against
// 2 slots); with "Retry-After: 0" there is no pause in which all of its
// answers come back before the walk sends again, so a few more may come
// while the limit settles: 15 to 17 in about 1 run of 4 under -race. A
// walk whose limit never settled draws over a hundred.
func TestParallelWalkAgainstSlotLimitedServer(t *testing.T) {
	const pages, pageSize = 30, 10
	srv, want := newFake(t, pages*pageSize)
	srv.SetLatency(2 * time.Millisecond) // requests overlap
	srv.SetConcurrencyLimit(2)
	srv.SetThrottleRetryAfter(0)
	c := srv.Client(prefactor.WithMaxRetries(1))

	var got []string
	for tok, err := range c.APITokens.All(context.Background(), &prefactor.ListAPITokensOptions{PageSize: pageSize}, prefactor.WithConcurrency(16)) {
		if err != nil {
			t.Fatalf("walk failed after %d tokens, %d 429s: %v", len(got), srv.Throttled(), err)
		}
		got = append(got, tok.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("yielded %d tokens, want all %d in order", len(got), len(want))
	}
	if n := srv.Throttled(); n == 0 || n >= pages {
		t.Errorf("the server sent %d 429s; want some (it was overloaded) and fewer than one per page (%d)", n, pages)
	}
}

// TestParallelWalkNeedsNoRetriesOfItsOwn: against a server that serves 2
// requests at once, a walk without retries lists every token sequentially;
// with WithConcurrency(8) it must too. The 429s its own first burst draws
// are the walk's business, not the pages' retries.
func TestParallelWalkNeedsNoRetriesOfItsOwn(t *testing.T) {
	const n, pageSize = 240, 10
	for _, concurrency := range []int{1, 8} {
		t.Run(fmt.Sprintf("concurrency %d", concurrency), func(t *testing.T) {
			srv, want := newFake(t, n)
			srv.SetLatency(2 * time.Millisecond) // requests overlap
			srv.SetConcurrencyLimit(2)
			srv.SetThrottleRetryAfter(0)
			c := srv.Client(prefactor.WithMaxRetries(0))
			var got []string
			for tok, err := range c.APITokens.All(context.Background(), &prefactor.ListAPITokensOptions{PageSize: pageSize}, prefactor.WithConcurrency(concurrency)) {
				if err != nil {
					t.Fatalf("walk failed after %d tokens, %d 429s: %v", len(got), srv.Throttled(), err)
				}
				got = append(got, tok.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("yielded %d tokens, want all %d in order", len(got), len(want))
			}
		})
	}
}

// TestParallelWalkFailsAsFastAsSequential: when every page after the first
// is answered 429 with "Retry-After: 1", a walk fails once the page its
// caller waits on has spent its retries. With WithConcurrency(16) that
// page goes first whenever the walk may send again, so the walk fails
// within twice the time the sequential walk takes, and the pages fetched
// ahead are cancelled rather than retried in turn.
func TestParallelWalkFailsAsFastAsSequential(t *testing.T) {
	const n, pageSize = 400, 10
	type outcome struct {
		elapsed  time.Duration
		requests int
		err      error
	}
	walk := func(concurrency int) outcome {
		srv, _ := newFake(t, n)
		c := srv.Client(prefactor.WithRetryWait(time.Second, time.Second)) // 3 retries, as by default
		start := time.Now()
		var err error
		for tok, e := range c.APITokens.All(context.Background(), &prefactor.ListAPITokensOptions{PageSize: pageSize}, prefactor.WithConcurrency(concurrency)) {
			if e != nil {
				err = e
				break
			}
			if tok != nil && srv.RequestCount() == 1 { // the first page is in: from now on, an outage
				srv.FailNext(1<<20, prefactortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
			}
		}
		return outcome{time.Since(start), srv.RequestCount(), err}
	}
	results := make(chan outcome, 2)
	var seq, par outcome
	go func() { results <- walk(1) }()
	par = walk(16)
	seq = <-results
	for name, o := range map[string]outcome{"sequential": seq, "concurrency 16": par} {
		if !errors.Is(o.err, prefactor.ErrRateLimited) {
			t.Fatalf("%s: walk ended with %v; want the 429", name, o.err)
		}
		t.Logf("%s: failed after %s and %d requests", name, o.elapsed.Round(time.Millisecond), o.requests)
	}
	if seq.requests != 5 {
		t.Errorf("sequential walk sent %d requests; want the first page and 4 attempts at the second", seq.requests)
	}
	if par.elapsed > 2*seq.elapsed {
		t.Errorf("the parallel walk failed after %s, over twice the sequential walk's %s", par.elapsed, seq.elapsed)
	}
	// The first page, the burst of 16, and then only the page the caller
	// waits on: one resend of its own 429 drawn in the burst, at most.
	if par.requests > 1+16+4 {
		t.Errorf("the parallel walk sent %d requests; want at most %d", par.requests, 1+16+4)
	}
}
