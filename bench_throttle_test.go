package prefactor_test

// The throttled-walk benchmark lives apart from bench_test.go because it
// runs against prefactortest's fake, which imports this package: only an
// external test package may import it. Run it with
//
//	go test -run '^$' -bench Throttled -benchtime 3x .

import (
	"context"
	"fmt"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// BenchmarkAllThrottled walks 50 pages of 100 tokens from the kit's fake
// playing a rate-limited service: it serves at most 4 requests at once,
// answers the rest 429 with "Retry-After: 1", and takes 20 ms over every
// answer. Each sub-benchmark walks the list with Concurrency(n) and reports
// the walk's time (ns/op) and the 429s it drew (429s/op). A walk that
// fails, or that does not yield every token once in order, fails the
// benchmark.
func BenchmarkAllThrottled(b *testing.B) {
	const (
		pages    = 50
		pageSize = 100
		slots    = 4
		latency  = 20 * time.Millisecond
	)
	srv, want := newFake(b, pages*pageSize)
	srv.SetLatency(latency)
	srv.SetConcurrencyLimit(slots)
	srv.SetThrottleRetryAfter(time.Second)

	for _, n := range []int{4, 8, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			c, err := prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()))
			if err != nil {
				b.Fatal(err)
			}
			opts := &prefactor.ListAPITokensOptions{PageSize: pageSize}
			before := srv.Throttled()
			for b.Loop() {
				i := 0
				for tok, err := range c.APITokens.All(context.Background(), opts, prefactor.WithConcurrency(n)) {
					if err != nil {
						b.Fatalf("walk failed after %d tokens (%d 429s so far): %v", i, srv.Throttled()-before, err)
					}
					if i >= len(want) || tok.ID != want[i] {
						b.Fatalf("token %d is %s, want the list in order", i, tok.ID)
					}
					i++
				}
				if i != len(want) {
					b.Fatalf("walk yielded %d tokens, want %d", i, len(want))
				}
			}
			b.ReportMetric(float64(srv.Throttled()-before)/float64(b.N), "429s/op")
		})
	}
}
