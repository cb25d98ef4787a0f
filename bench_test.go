package prefactor

// Benchmarks of the SDK against a hand-written floor, run with
//
//	go test -run '^$' -bench . -benchmem
//
// Every benchmark has sub-benchmarks impl=baseline and impl=sdk… that run in
// the same process against the same in-process loopback server, which
// serves pages rendered once before the timer starts. The baseline is the
// loop a careful user writes by hand: net/http and encoding/json into a
// struct with the same fields, following next_page_offset, draining each
// body so the connection is reused, with no retries and no checks.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchPageSize is the page size every benchmark asks for: the API's maximum.
const benchPageSize = 100

// benchID writes the ID of the i-th benchmark token into b: a 32-character
// identifier like the API's, derived from i alone so the order of a walk can
// be checked without keeping the list. IDs grow with i, as the list is
// sorted by ID: i in base 32 comes before the random part.
func benchID(b *[32]byte, i uint64) {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	copy(b[:], "013xrzp")
	for j, v := 15, i; j >= 7; j, v = j-1, v/32 {
		b[j] = alphabet[v%32]
	}
	x := i*0x9e3779b97f4a7c15 + 1
	for j := 16; j < 32; j++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[j] = alphabet[x%32]
	}
}

func benchIDString(i uint64) string {
	var b [32]byte
	benchID(&b, i)
	return string(b[:])
}

var (
	benchAdmins  = []string{benchIDString(1 << 40), benchIDString(2 << 40), benchIDString(3 << 40)}
	benchEnvs    = []string{benchIDString(4 << 40), benchIDString(5 << 40), benchIDString(6 << 40), benchIDString(7 << 40), benchIDString(8 << 40)}
	benchAccount = benchIDString(9 << 40)
)

// benchToken returns the i-th of a realistic, deterministic list: one
// account, a few admins and environments, mostly active, some never used,
// timestamps with and without microseconds.
func benchToken(i int) APIToken {
	t := APIToken{ID: benchIDString(uint64(i)), Type: "api_token", AccountID: benchAccount}
	if i%10 >= 3 {
		t.CreatedByAdminUserID = &benchAdmins[i%len(benchAdmins)]
	}
	t.InsertedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 17 * time.Minute)
	if i%2 == 1 {
		t.InsertedAt = t.InsertedAt.Add(time.Duration(i%1000000) * time.Microsecond)
	}
	t.UpdatedAt = t.InsertedAt.Add(36 * time.Hour)
	t.ExpiresAt = t.InsertedAt.AddDate(1, 0, 0)
	if i%4 != 0 {
		used := t.UpdatedAt.Add(time.Duration(i%5000) * time.Second)
		t.LastUsedAt = &used
	}
	t.Status = TokenStatusActive
	switch i % 20 {
	case 3, 7, 11:
		t.Status = TokenStatusRevoked
	case 13:
		t.Status = TokenStatusSuspended
	}
	t.TokenScope = TokenScopeAccount
	if i%5 < 2 {
		t.TokenScope = TokenScopeEnvironment
		t.EnvironmentID = &benchEnvs[i%len(benchEnvs)]
	}
	return t
}

// wireToken is a token as the server renders it, keys in the reference's
// order.
type wireToken struct {
	AccountID            string     `json:"account_id"`
	CreatedByAdminUserID *string    `json:"created_by_admin_user_id"`
	EnvironmentID        *string    `json:"environment_id"`
	ExpiresAt            time.Time  `json:"expires_at"`
	ID                   string     `json:"id"`
	InsertedAt           time.Time  `json:"inserted_at"`
	LastUsedAt           *time.Time `json:"last_used_at"`
	Status               string     `json:"status"`
	TokenScope           string     `json:"token_scope"`
	Type                 string     `json:"type"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// renderedPages is a list of n tokens rendered as the server would, page
// by page, for the offsets two walks ask for: those next_page_offset leads
// to (multiples of 100), and those of All in ID order, whose pages after
// the first start at the last token of the page before (multiples of 99).
// The pages share one byte slice, so the garbage collector never scans
// them.
type renderedPages struct {
	n    int
	data []byte
	at   map[int][2]int // offset → start and end in data
}

// page returns the page at offset, or nil when none was rendered there.
func (r *renderedPages) page(offset int) []byte {
	span, ok := r.at[offset]
	if !ok {
		return nil
	}
	return r.data[span[0]:span[1]:span[1]]
}

// serverOffsets are the offsets a walk that follows next_page_offset asks
// for in a list of n; keyedOffsets those of a walk in ID order.
func serverOffsets(n int) []int { return gridOffsets(n, benchPageSize) }
func keyedOffsets(n int) []int  { return gridOffsets(n, benchPageSize-1) }

func gridOffsets(n, step int) []int {
	offsets := []int{0}
	for off := 0; off+benchPageSize < n; off += step {
		offsets = append(offsets, off+step)
	}
	return offsets
}

func renderPages(tb testing.TB, n int) *renderedPages {
	tb.Helper()
	r := &renderedPages{n: n, at: map[int][2]int{}}
	pageCount := (n + benchPageSize - 1) / benchPageSize
	for _, off := range append(serverOffsets(n), keyedOffsets(n)...) {
		if _, done := r.at[off]; done {
			continue
		}
		end := min(off+benchPageSize, n)
		summaries := make([]wireToken, 0, end-off)
		for i := off; i < end; i++ {
			t := benchToken(i)
			summaries = append(summaries, wireToken{
				AccountID: t.AccountID, CreatedByAdminUserID: t.CreatedByAdminUserID, EnvironmentID: t.EnvironmentID,
				ExpiresAt: t.ExpiresAt, ID: t.ID, InsertedAt: t.InsertedAt, LastUsedAt: t.LastUsedAt,
				Status: string(t.Status), TokenScope: string(t.TokenScope), Type: t.Type, UpdatedAt: t.UpdatedAt,
			})
		}
		var next, prev *int
		if end < n {
			next = &end
		}
		if off > 0 {
			p := max(off-benchPageSize, 0)
			prev = &p
		}
		body, err := json.Marshal(map[string]any{
			"status":    "success",
			"summaries": summaries,
			"pagination": map[string]any{
				"item_count": n, "item_start": off + 1, "item_end": end,
				"page_count": pageCount, "page_index": (off+benchPageSize-1)/benchPageSize + 1, "page_offset": off, "page_size": benchPageSize,
				"next_page_offset": next, "previous_page_offset": prev,
			},
			"sorting": map[string]any{"direction": "asc", "field": "id"},
		})
		if err != nil {
			tb.Fatal(err)
		}
		r.at[off] = [2]int{len(r.data), len(r.data) + len(body)}
		r.data = append(r.data, body...)
	}
	r.data = append([]byte(nil), r.data...) // one allocation of the exact size
	return r
}

// benchServer serves pre-rendered pages of the token list on loopback.
type benchServer struct {
	*httptest.Server
	pages *renderedPages
	delay time.Duration
	hits  map[int]*atomic.Int64 // requests per page, by offset
}

func newBenchServer(tb testing.TB, n int, delay time.Duration) *benchServer {
	tb.Helper()
	s := &benchServer{pages: renderPages(tb, n), delay: delay, hits: map[int]*atomic.Int64{}}
	for off := range s.pages.at {
		s.hits[off] = new(atomic.Int64)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func (s *benchServer) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("pagination[offset]"))
	body := s.pages.page(offset)
	if body == nil || q.Get("pagination[page_size]") != strconv.Itoa(benchPageSize) || r.URL.Path != "/api/v1/api_token" {
		http.Error(w, `{"status":"error","code":"invalid_value","message":"unexpected request"}`, http.StatusBadRequest)
		return
	}
	if s.delay > 0 {
		time.Sleep(s.delay) // simulated network and server latency
	}
	s.hits[offset].Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// resetHits zeroes the per-page request counters.
func (s *benchServer) resetHits() {
	for _, h := range s.hits {
		h.Store(0)
	}
}

// checkHits fails unless the pages at offsets were requested exactly want
// times each since the last reset, and no other page was; and resets the
// counters.
func (s *benchServer) checkHits(tb testing.TB, offsets []int, want int64) {
	tb.Helper()
	for off, h := range s.hits {
		w := int64(0)
		if slices.Contains(offsets, off) {
			w = want
		}
		if got := h.Swap(0); got != w {
			tb.Fatalf("page at offset %d requested %d times, want %d", off, got, w)
		}
	}
}

// baseToken and basePage are what a user would declare by hand: the same
// fields as APIToken and the list body.
type baseToken struct {
	ID                   string     `json:"id"`
	Type                 string     `json:"type"`
	AccountID            string     `json:"account_id"`
	CreatedByAdminUserID *string    `json:"created_by_admin_user_id"`
	EnvironmentID        *string    `json:"environment_id"`
	ExpiresAt            time.Time  `json:"expires_at"`
	InsertedAt           time.Time  `json:"inserted_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
	LastUsedAt           *time.Time `json:"last_used_at"`
	Status               string     `json:"status"`
	TokenScope           string     `json:"token_scope"`
}

type basePage struct {
	Status     string      `json:"status"`
	Summaries  []baseToken `json:"summaries"`
	Pagination *struct {
		ItemCount          int  `json:"item_count"`
		ItemStart          int  `json:"item_start"`
		ItemEnd            int  `json:"item_end"`
		PageCount          int  `json:"page_count"`
		PageIndex          int  `json:"page_index"`
		PageOffset         int  `json:"page_offset"`
		PageSize           int  `json:"page_size"`
		NextPageOffset     *int `json:"next_page_offset"`
		PreviousPageOffset *int `json:"previous_page_offset"`
	} `json:"pagination"`
	Sorting *struct {
		Field     string `json:"field"`
		Direction string `json:"direction"`
	} `json:"sorting"`
}

// baselineAll is the hand-written floor: it calls fn for every token.
func baselineAll(ctx context.Context, hc *http.Client, baseURL string, fn func(*baseToken)) error {
	offset := 0
	for {
		q := url.Values{}
		if offset > 0 {
			q.Set("pagination[offset]", strconv.Itoa(offset))
		}
		q.Set("pagination[page_size]", strconv.Itoa(benchPageSize))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/v1/api_token?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		var p basePage
		err = json.NewDecoder(resp.Body).Decode(&p)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		for i := range p.Summaries {
			fn(&p.Summaries[i])
		}
		if p.Pagination == nil || p.Pagination.NextPageOffset == nil {
			return nil
		}
		offset = *p.Pagination.NextPageOffset
	}
}

func newBaselineHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

func newBenchClient(tb testing.TB, srv *benchServer) *Client {
	tb.Helper()
	c, err := NewClient(testToken, WithBaseURL(srv.URL))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// walker ranges over every token once with one implementation and calls fn
// for each (with the token's ID and its index in the list).
type walker func(ctx context.Context, fn func(i int, id string)) error

func benchWalkers(tb testing.TB, srv *benchServer) map[string]walker {
	hc := newBaselineHTTPClient()
	c := newBenchClient(tb, srv)
	return map[string]walker{
		"baseline": func(ctx context.Context, fn func(int, string)) error {
			i := 0
			return baselineAll(ctx, hc, srv.URL, func(t *baseToken) { fn(i, t.ID); i++ })
		},
		"sdk":    sdkWalker(c, 1, Sort{}),
		"sdk-c8": sdkWalker(c, 8, Sort{}),
		// The bench server ignores the sorting asked for, and says it
		// sorted by ID: a walk sorted by status gets the same pages, and
		// follows next_page_offset through them, as All did before it
		// walked in ID order.
		"sdk-by-offset": sdkWalker(c, 1, Sort{Field: SortByStatus}),
	}
}

func sdkWalker(c *Client, concurrency int, sort Sort) walker {
	return func(ctx context.Context, fn func(int, string)) error {
		i := 0
		for tok, err := range c.APITokens.All(ctx, &ListAPITokensOptions{PageSize: benchPageSize, Sort: sort}, WithConcurrency(concurrency)) {
			if err != nil {
				return err
			}
			fn(i, tok.ID)
			i++
		}
		return nil
	}
}

// checkOrder returns an fn for a walker that fails the benchmark unless the
// n tokens of the list arrive in order, and a done to call after each walk.
func checkOrder(tb testing.TB, n int) (fn func(int, string), done func()) {
	seen := 0
	var want [32]byte
	fn = func(i int, id string) {
		benchID(&want, uint64(i))
		if i != seen || i >= n || id != string(want[:]) {
			tb.Fatalf("token %d (after %d) is %q, want %q", i, seen, id, want[:])
		}
		seen++
	}
	done = func() {
		if seen != n {
			tb.Fatalf("walk yielded %d tokens, want %d", seen, n)
		}
		seen = 0
	}
	return fn, done
}

// Benchmark 1: All over 20,000 tokens, page size 100, over a list nobody
// changes: the baseline, the SDK's walk in ID order (its default), and the
// SDK's walk by next_page_offset (impl=sdk-by-offset), which shows what
// keeping the walk's place by ID costs. Each reports its requests per walk.
func BenchmarkAll(b *testing.B) {
	const n = 20_000
	srv := newBenchServer(b, n, 0)
	walkers := benchWalkers(b, srv)
	for _, impl := range []string{"baseline", "sdk", "sdk-by-offset"} {
		b.Run("impl="+impl, func(b *testing.B) {
			walk := walkers[impl]
			fn, done := checkOrder(b, n)
			srv.resetHits()
			b.ReportAllocs()
			for b.Loop() {
				if err := walk(context.Background(), fn); err != nil {
					b.Fatal(err)
				}
				done()
			}
			var requests int64
			for _, h := range srv.hits {
				requests += h.Load()
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		})
	}
}

// Benchmark 2: the most heap in use while ranging over 20,000 and 200,000
// tokens, above what was in use before the walk (the server's pre-rendered
// pages). Method: at every page boundary the consumer forces a GC and reads
// HeapInuse, so the figure is the live heap the walk holds (current page,
// buffers, connections), independent of GC pacing; it is reported as
// peak-heap-MiB. ns/op here mostly measures those forced GCs.
func BenchmarkAllPeakHeap(b *testing.B) {
	for _, n := range []int{20_000, 200_000} {
		srv := newBenchServer(b, n, 0)
		walkers := benchWalkers(b, srv)
		for _, impl := range []string{"baseline", "sdk", "sdk-c8"} {
			b.Run(fmt.Sprintf("tokens=%d/impl=%s", n, impl), func(b *testing.B) {
				walk := walkers[impl]
				check, done := checkOrder(b, n)
				var ms runtime.MemStats
				var peak uint64
				for b.Loop() {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					before := ms.HeapInuse
					err := walk(context.Background(), func(i int, id string) {
						check(i, id)
						if i%benchPageSize == 0 {
							runtime.GC()
							runtime.ReadMemStats(&ms)
							if ms.HeapInuse > before && ms.HeapInuse-before > peak {
								peak = ms.HeapInuse - before
							}
						}
					})
					if err != nil {
						b.Fatal(err)
					}
					done()
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			})
		}
		srv.Close()
	}
}

// Benchmark 3: 50 pages from a server that takes 20 ms per page, walked
// sequentially (baseline, sdk) and with WithConcurrency(8) (sdk-c8). Every
// walk must yield every token once, in order, and request every page of
// its walk exactly once: the baseline's 50, or the 51 of All in ID order,
// whose pages after the first bring 99 new tokens.
func BenchmarkAllSlowServer(b *testing.B) {
	const n = 50 * benchPageSize
	srv := newBenchServer(b, n, 20*time.Millisecond)
	walkers := benchWalkers(b, srv)
	for _, impl := range []string{"baseline", "sdk", "sdk-c8"} {
		b.Run("impl="+impl, func(b *testing.B) {
			walk := walkers[impl]
			fn, done := checkOrder(b, n)
			offsets := keyedOffsets(n)
			if impl == "baseline" {
				offsets = serverOffsets(n)
			}
			srv.resetHits()
			for b.Loop() {
				if err := walk(context.Background(), fn); err != nil {
					b.Fatal(err)
				}
				done()
				srv.checkHits(b, offsets, 1)
			}
		})
	}
}

// Benchmark 4: decoding one 100-token page, from an in-memory body.
func BenchmarkDecodePage(b *testing.B) {
	body := renderPages(b, benchPageSize).page(0)
	rd := bytes.NewReader(body)
	b.Run("impl=baseline", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(body)
			var p basePage
			if err := json.NewDecoder(rd).Decode(&p); err != nil || len(p.Summaries) != benchPageSize {
				b.Fatal(err, len(p.Summaries))
			}
		}
	})
	b.Run("impl=sdk", func(b *testing.B) {
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: int64(len(body))}
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(body)
			resp.Body = io.NopCloser(rd)
			var out listAPITokensResponse
			if err := decodeResponse(resp, &out); err != nil || len(*out.Summaries) != benchPageSize {
				b.Fatal(err)
			}
		}
	})
}
