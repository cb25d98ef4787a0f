package prefactor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientConcurrentUse shares one Client between 32 goroutines that List,
// range over All (to the end, and breaking out early) and print the client,
// against a server that answers every seventh request with a 503. Run it
// with -race.
func TestClientConcurrentUse(t *testing.T) {
	before := runtime.NumGoroutine()
	const (
		workers  = 32
		total    = 23
		pageSize = 5
	)
	ids := make([]string, total)
	for i := range ids {
		ids[i] = fmt.Sprintf("tok_%02d", i)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%7 == 0 {
			reply(w, 503, `{"status":"error","code":"unexpected","message":"busy"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+secretToken {
			reply(w, 401, `{"status":"error","code":"bad_authtoken","message":"no"}`)
			return
		}
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("pagination[offset]"))
		size, _ := strconv.Atoi(q.Get("pagination[page_size]"))
		end := min(off+size, total)
		var next *int
		if end < total {
			next = ptr(end)
		}
		reply(w, 200, listJSON(off, next, ids[off:end]...))
	}))

	c, err := NewClient(secretToken,
		WithBaseURL(srv.URL),
		WithMaxRetries(5),
		WithRetryWait(time.Millisecond, 2*time.Millisecond),
		WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			opts := &ListAPITokensOptions{PageSize: pageSize}
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
				page, err := c.APITokens.List(ctx, &ListAPITokensOptions{Offset: off, PageSize: pageSize})
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
				if s := fmt.Sprintf("%v %+v", c, *c); strings.Contains(s, secretToken) {
					t.Errorf("worker %d: %s", w, s)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests for %d workers", hits.Load(), workers)

	closeIdleConns(c)
	srv.Close()
	waitGoroutines(t, before)
}
