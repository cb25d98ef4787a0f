package prefactor_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// TestClientConcurrentUse shares one Client between 32 goroutines that List,
// range over All (to the end, and breaking out early) and print the client,
// against the fake, to which every other goroutine adds a 503 as it starts,
// so failures land among the others' requests. The client has more retries
// than there are 503s, so no call may fail. Run it with -race.
func TestClientConcurrentUse(t *testing.T) {
	before := runtime.NumGoroutine()
	const (
		workers  = 32
		faults   = workers / 2
		total    = 23
		pageSize = 5
	)
	srv, ids := newFake(t, total)
	c := srv.Client(
		prefactor.WithMaxRetries(faults),
		prefactor.WithLogger(slog.New(slog.DiscardHandler)),
	)

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w%2 == 0 {
				srv.FailNext(1, prefactortest.Fault{Status: 503, Message: "busy"})
			}
			ctx := context.Background()
			opts := &prefactor.ListAPITokensOptions{PageSize: pageSize}
			switch w % 4 {
			case 0, 1: // the whole list
				var got []string
				for tok, err := range c.APITokens.All(ctx, opts) {
					if err != nil {
						t.Errorf("worker %d: All: %v", w, err)
						return
					}
					got = append(got, tok.ID)
				}
				if strings.Join(got, ",") != strings.Join(ids, ",") {
					t.Errorf("worker %d: All yielded %v", w, got)
				}
				if opts.Offset != 0 || opts.PageSize != pageSize {
					t.Errorf("worker %d: All changed the caller's options: %+v", w, opts)
				}
			case 2: // one page
				off := (w / 4 % 4) * pageSize
				page, err := c.APITokens.List(ctx, &prefactor.ListAPITokensOptions{Offset: off, PageSize: pageSize})
				if err != nil {
					t.Errorf("worker %d: List: %v", w, err)
					return
				}
				if len(page.Items) != pageSize || page.Items[0].ID != ids[off] {
					t.Errorf("worker %d: page at %d starts %v", w, off, page.Items)
				}
			case 3: // break out on the second page, and print the client meanwhile
				n := 0
				for tok, err := range c.APITokens.All(ctx, opts) {
					if err != nil {
						t.Errorf("worker %d: All: %v", w, err)
						return
					}
					if tok.ID != ids[n] {
						t.Errorf("worker %d: item %d is %s", w, n, tok.ID)
					}
					if n++; n == pageSize+2 {
						break
					}
				}
				if s := fmt.Sprintf("%v %+v", c, *c); strings.Contains(s, prefactortest.Token) {
					t.Errorf("worker %d: %s", w, s)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests for %d workers", srv.RequestCount(), workers)

	c.CloseIdleConnections()
	srv.Close()
	prefactor.WaitGoroutines(t, before)
}
