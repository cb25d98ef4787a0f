package prefactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeList is a transport that serves a list of n tokens ("t00000", …) in
// the calling goroutine, so the only goroutines a walk adds are its own.
// It counts requests per offset and how many are in flight at once.
type fakeList struct {
	n int

	// respond, when set, may answer a request instead of the list (return
	// nil to serve the list). It may block.
	respond func(req *http.Request, offset int) *http.Response
	// next, when set, replaces the next_page_offset of a page.
	next func(offset, size int) *int

	mu          sync.Mutex
	hits        map[int]int
	keys        map[int]string // idempotency_key sent per offset
	inFlight    int
	maxInFlight int
}

func (f *fakeList) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	offset, _ := strconv.Atoi(q.Get("pagination[offset]"))
	size, _ := strconv.Atoi(q.Get("pagination[page_size]"))
	f.mu.Lock()
	if f.hits == nil {
		f.hits, f.keys = map[int]int{}, map[int]string{}
	}
	f.hits[offset]++
	if k := q.Get("idempotency_key"); k != "" {
		f.keys[offset] = k
	}
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()

	if f.respond != nil {
		if resp := f.respond(req, offset); resp != nil {
			return resp, nil
		}
		if err := req.Context().Err(); err != nil {
			return nil, err
		}
	}
	var next *int
	if offset+size < f.n {
		next = ptr(offset + size)
	}
	if f.next != nil {
		next = f.next(offset, size)
	}
	return jsonResponse(req, 200, listBody(offset, size, f.n, next)), nil
}

func (f *fakeList) stats() (hits map[int]int, inFlight, maxInFlight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hits = make(map[int]int, len(f.hits))
	for k, v := range f.hits {
		hits[k] = v
	}
	return hits, f.inFlight, f.maxInFlight
}

func jsonResponse(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// blockUntilCancelled is a respond that holds a request until its context
// ends, like a server that never answers.
func blockUntilCancelled(req *http.Request) *http.Response {
	<-req.Context().Done()
	return nil
}

func tokenID(i int) string { return fmt.Sprintf("t%05d", i) }

// listBody renders the page of a list of n tokens at offset.
func listBody(offset, size, n int, next *int) string {
	var b strings.Builder
	b.WriteString(`{"status":"success","summaries":[`)
	for i := offset; i < min(offset+size, n); i++ {
		if i > offset {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%q,"type":"api_token","status":"active","token_scope":"account","expires_at":"2030-01-01T00:00:00Z"}`, tokenID(i))
	}
	nextJSON := "null"
	if next != nil {
		nextJSON = strconv.Itoa(*next)
	}
	fmt.Fprintf(&b, `],"pagination":{"item_count":%d,"page_offset":%d,"page_size":%d,"next_page_offset":%s},"sorting":null}`,
		n, offset, size, nextJSON)
	return b.String()
}

func fakeClient(t *testing.T, f *fakeList) *Client {
	t.Helper()
	c, err := NewClient(testToken, WithHTTPClient(&http.Client{Transport: f}), WithRetryWait(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// walkIDs ranges over seq the way a caller would and returns what it saw:
// token IDs, and "err:<error>" for errors. stop, when set, is called before
// each item and ends the loop when it returns true.
func walkIDs(seq func(func(*APIToken, error) bool), stop func(n int) bool) []string {
	got := []string{}
	for tok, err := range seq {
		if stop != nil && stop(len(got)) {
			break
		}
		if err != nil {
			got = append(got, "err:"+err.Error())
			continue // the iterator must not yield after an error
		}
		got = append(got, tok.ID)
	}
	return got
}

func ids(from, to int) []string {
	out := []string{}
	for i := from; i < to; i++ {
		out = append(out, tokenID(i))
	}
	return out
}

// withTimeout runs f and fails the test if it has not returned within 10 s,
// which only happens when the iterator hangs.
func withTimeout(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the walk did not return")
	}
}

func TestConcurrencyOrderExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		n, size, concurrency, offset int
	}{
		{0, 10, 4, 0},
		{7, 10, 4, 0},
		{10, 10, 4, 0},
		{250, 10, 1, 0},
		{250, 10, 2, 0},
		{250, 10, 3, 0},
		{250, 10, 8, 0},
		{253, 10, 16, 0},
		{253, 10, 100, 0},
		{253, 7, 5, 3},
	} {
		t.Run(fmt.Sprintf("n=%d,size=%d,concurrency=%d,offset=%d", tc.n, tc.size, tc.concurrency, tc.offset), func(t *testing.T) {
			before := runtime.NumGoroutine()
			f := &fakeList{n: tc.n}
			c := fakeClient(t, f)
			opts := &ListAPITokensOptions{PageSize: tc.size, Offset: tc.offset, IdempotencyKey: "walk-1"}
			got := walkIDs(c.APITokens.All(context.Background(), opts, WithConcurrency(tc.concurrency)), nil)
			if want := ids(tc.offset, tc.n); !reflect.DeepEqual(got, want) {
				t.Fatalf("yielded %v,\nwant %v", got, want)
			}
			hits, inFlight, maxInFlight := f.stats()
			for off := tc.offset; off < max(tc.n, 1); off += tc.size {
				if hits[off] != 1 {
					t.Errorf("page at offset %d requested %d times, want once", off, hits[off])
				}
			}
			if len(hits) != max((tc.n-tc.offset+tc.size-1)/tc.size, 1) {
				t.Errorf("requested offsets %v", hits)
			}
			if inFlight != 0 {
				t.Errorf("%d requests still in flight after the walk", inFlight)
			}
			if limit := min(max(tc.concurrency, 1), 16); maxInFlight > limit {
				t.Errorf("%d requests in flight at once, want at most %d", maxInFlight, limit)
			}
			if !reflect.DeepEqual(f.keys, map[int]string{tc.offset: "walk-1"}) {
				t.Errorf("idempotency keys sent: %v, want only on the first page", f.keys)
			}
			waitGoroutines(t, before)
		})
	}
}

func TestConcurrencyFetchesNPagesAtOnce(t *testing.T) {
	const n = 4
	var (
		arrived atomic.Int32
		all     = make(chan struct{})
	)
	f := &fakeList{n: 100}
	f.respond = func(req *http.Request, offset int) *http.Response {
		if offset == 0 || offset >= 10*(n+1) {
			return nil
		}
		// The first n requests after the first page wait for each other:
		// the walk finishes only if they are in flight together.
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-req.Context().Done():
		}
		return nil
	}
	c := fakeClient(t, f)
	withTimeout(t, func() {
		got := walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(n)), nil)
		if !reflect.DeepEqual(got, ids(0, 100)) {
			t.Errorf("yielded %v", got)
		}
	})
	if _, _, maxInFlight := f.stats(); maxInFlight != n {
		t.Errorf("at most %d requests in flight, want %d", maxInFlight, n)
	}
}

func TestConcurrencyBreakCancelsAndWaits(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeList{n: 1000}
	f.respond = func(req *http.Request, offset int) *http.Response {
		if offset >= 30 {
			return blockUntilCancelled(req) // only cancellation frees these
		}
		return nil
	}
	c := fakeClient(t, f)
	var got []string
	withTimeout(t, func() {
		got = walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(8)),
			func(n int) bool { return n == 25 })
	})
	if !reflect.DeepEqual(got, ids(0, 25)) {
		t.Errorf("yielded %v", got)
	}
	hits, inFlight, _ := f.stats()
	if inFlight != 0 {
		t.Errorf("%d requests still in flight after the loop ended", inFlight)
	}
	total := 0
	for _, h := range hits {
		total += h
	}
	if total > 1+16 {
		t.Errorf("%d requests for a walk stopped on page 3 of 100 with WithConcurrency(8)", total)
	}
	waitGoroutines(t, before)
	if after, _, _ := f.stats(); !reflect.DeepEqual(after, hits) {
		t.Errorf("requests went out after the loop ended: %v, then %v", hits, after)
	}
}

func TestConcurrencyErrorStopsOnce(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeList{n: 1000}
	f.respond = func(req *http.Request, offset int) *http.Response {
		switch {
		case offset == 40:
			return jsonResponse(req, 403, `{"status":"error","code":"not_permitted","message":"nope"}`)
		case offset > 40:
			return blockUntilCancelled(req)
		}
		return nil
	}
	c := fakeClient(t, f)
	var got []string
	withTimeout(t, func() {
		got = walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(8)), nil)
	})
	if len(got) != 41 || !reflect.DeepEqual(got[:40], ids(0, 40)) || !strings.Contains(got[40], "403 not_permitted: nope") {
		t.Errorf("yielded %v, want 40 tokens then the 403 once", got)
	}
	if _, inFlight, _ := f.stats(); inFlight != 0 {
		t.Errorf("%d requests still in flight after the error", inFlight)
	}
	waitGoroutines(t, before)
}

func TestConcurrencyContextCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeList{n: 1000}
	f.respond = func(req *http.Request, offset int) *http.Response {
		if offset >= 20 {
			return blockUntilCancelled(req)
		}
		return nil
	}
	c := fakeClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	var errs []error
	withTimeout(t, func() {
		for tok, err := range c.APITokens.All(ctx, &ListAPITokensOptions{PageSize: 10}, WithConcurrency(4)) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, tok.ID)
			if len(got) == 15 {
				cancel()
			}
		}
	})
	if !reflect.DeepEqual(got, ids(0, 20)) {
		t.Errorf("yielded %v, want the two pages fetched before the cancel", got)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("errors %v, want one matching context.Canceled", errs)
	}
	if _, inFlight, _ := f.stats(); inFlight != 0 {
		t.Errorf("%d requests still in flight after the cancel", inFlight)
	}
	waitGoroutines(t, before)
}

func TestConcurrencyFollowsServerWhenPlanBreaks(t *testing.T) {
	t.Run("later page disagrees", func(t *testing.T) {
		// The page at 30 says the next one starts at 35 (the list shifted):
		// from there the walk follows the server one page at a time.
		f := &fakeList{n: 100}
		f.next = func(offset, size int) *int {
			switch {
			case offset == 30:
				return ptr(35)
			case offset+size < 100:
				return ptr(offset + size)
			}
			return nil
		}
		c := fakeClient(t, f)
		got := walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(4)), nil)
		if want := append(ids(0, 40), ids(35, 100)...); !reflect.DeepEqual(got, want) {
			t.Errorf("yielded %v,\nwant %v", got, want)
		}
		hits, _, _ := f.stats()
		for _, off := range []int{35, 45, 55, 65, 75, 85, 95} {
			if hits[off] != 1 {
				t.Errorf("offset %d requested %d times, want once", off, hits[off])
			}
		}
	})
	t.Run("first page disagrees", func(t *testing.T) {
		f := &fakeList{n: 100}
		f.next = func(offset, size int) *int {
			if offset+2*size < 100 {
				return ptr(offset + 2*size) // skips pages: not what the plan predicts
			}
			return nil
		}
		c := fakeClient(t, f)
		got := walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(4)), nil)
		var want []string
		for off := 0; off < 100; off += 20 {
			want = append(want, ids(off, off+10)...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("yielded %v,\nwant %v", got, want)
		}
		if _, _, maxInFlight := f.stats(); maxInFlight != 1 {
			t.Errorf("%d requests in flight at once, want a sequential walk", maxInFlight)
		}
	})
	t.Run("later page stalls", func(t *testing.T) {
		f := &fakeList{n: 100}
		f.next = func(offset, size int) *int {
			if offset == 20 {
				return ptr(20)
			}
			return ptr(offset + size)
		}
		c := fakeClient(t, f)
		got := walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(4)), nil)
		if len(got) != 31 || !reflect.DeepEqual(got[:30], ids(0, 30)) || !strings.Contains(got[30], "does not move past offset 20") {
			t.Errorf("yielded %v, want 30 tokens and ErrPaginationStalled", got)
		}
	})
	t.Run("no pagination", func(t *testing.T) {
		f := &fakeList{n: 100}
		f.respond = func(req *http.Request, offset int) *http.Response {
			return jsonResponse(req, 200, `{"status":"success","summaries":[{"id":"only"}],"pagination":null}`)
		}
		c := fakeClient(t, f)
		if got := walkIDs(c.APITokens.All(context.Background(), nil, WithConcurrency(4)), nil); !reflect.DeepEqual(got, []string{"only"}) {
			t.Errorf("yielded %v", got)
		}
	})
}

func TestConcurrencyRetries429(t *testing.T) {
	f := &fakeList{n: 100}
	var once sync.Once
	f.respond = func(req *http.Request, offset int) *http.Response {
		var resp *http.Response
		if offset == 50 {
			once.Do(func() {
				resp = jsonResponse(req, 429, `{"status":"error","code":"unknown","message":"slow down"}`)
				resp.Header.Set("Retry-After", "0")
			})
		}
		return resp
	}
	c := fakeClient(t, f)
	got := walkIDs(c.APITokens.All(context.Background(), &ListAPITokensOptions{PageSize: 10}, WithConcurrency(4)), nil)
	if !reflect.DeepEqual(got, ids(0, 100)) {
		t.Errorf("yielded %v", got)
	}
	if hits, _, _ := f.stats(); hits[50] != 2 {
		t.Errorf("throttled page requested %d times, want 2", hits[50])
	}
}

func TestConcurrencyOption(t *testing.T) {
	for _, tc := range []struct {
		opts []RequestOption
		want int
	}{
		{nil, 1},
		{[]RequestOption{nil}, 1},
		{[]RequestOption{WithConcurrency(0)}, 1},
		{[]RequestOption{WithConcurrency(-3)}, 1},
		{[]RequestOption{WithConcurrency(5)}, 5},
		{[]RequestOption{WithConcurrency(1000)}, 16},
		{[]RequestOption{WithConcurrency(5), WithConcurrency(2)}, 2},
		{[]RequestOption{WithIdempotencyKey("k"), WithConcurrency(3)}, 3},
	} {
		cfg, err := newRequestConfig(tc.opts)
		if got := cfg.concurrency; err != nil || got != tc.want {
			t.Errorf("%d options: concurrency %d, want %d", len(tc.opts), got, tc.want)
		}
	}
}

// TestConcurrencyQueryEncoding checks that parallel pages carry the same
// query as sequential ones.
func TestConcurrencyQueryEncoding(t *testing.T) {
	var mu sync.Mutex
	queries := map[int]url.Values{}
	f := &fakeList{n: 30}
	f.respond = func(req *http.Request, offset int) *http.Response {
		mu.Lock()
		queries[offset] = req.URL.Query()
		mu.Unlock()
		return nil
	}
	c := fakeClient(t, f)
	opts := &ListAPITokensOptions{AccountID: "acc", Sort: Sort{Field: SortByStatus, Direction: SortDesc}, PageSize: 10, IdempotencyKey: "k"}
	walkIDs(c.APITokens.All(context.Background(), opts, WithConcurrency(3)), nil)
	want := map[int]url.Values{
		0:  {"account_id": {"acc"}, "sorting": {"-status"}, "pagination[page_size]": {"10"}, "idempotency_key": {"k"}},
		10: {"account_id": {"acc"}, "sorting": {"-status"}, "pagination[page_size]": {"10"}, "pagination[offset]": {"10"}},
		20: {"account_id": {"acc"}, "sorting": {"-status"}, "pagination[page_size]": {"10"}, "pagination[offset]": {"20"}},
	}
	if !reflect.DeepEqual(queries, want) {
		t.Errorf("queries %v,\nwant %v", queries, want)
	}
}
