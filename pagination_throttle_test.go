package prefactor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// TestParallelWalkAgainstSlotLimitedServer: a parallel walk far more eager
// than the server (16 at once against 2 slots) fails no call, though each
// page may be retried only once: the 429s its own eagerness drew do not use
// up a page's retries. It yields every token once, in order, and draws a
// handful of 429s, not one per page.
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
	if n := srv.Throttled(); n == 0 || n > 16 {
		t.Errorf("the server sent %d 429s; want some (it was overloaded) and at most 16 (one burst)", n)
	}
}
