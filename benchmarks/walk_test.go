// Package benchmarks compares ways of reading the whole token list from a
// loopback server: the SDK's All, sequential and with WithConcurrency(8),
// the loop a careful user writes by hand with net/http and a JSON library
// (encoding/json, goccy/go-json and, when the toolchain has it, json/v2),
// and the raw-transfer floor, which fetches every page and decodes nothing.
// It is a module of its own so that the SDK keeps its few dependencies.
// README.md says how to run it and how to read its table.
package benchmarks

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

var rounds = flag.Int("rounds", 31, "rounds of BenchmarkWalk; each runs every implementation once, in rotating order")

const (
	nTokens  = 20_000
	pageSize = 100 // the API's largest page
	apiToken = "pf_benchmark_token"
)

// tokenList is the list the server serves: its pages rendered once, as the
// API renders them, and the IDs in list order to check every walk against.
// Pages are rendered at the offsets two kinds of walk ask for: those
// next_page_offset leads to (multiples of 100), and those of the SDK's walk
// in ID order, whose pages after the first start at the last token of the
// page before (multiples of 99).
type tokenList struct {
	ids   []string
	pages map[int][]byte // by offset
}

func renderList(tb testing.TB) *tokenList {
	tb.Helper()
	tokens := prefactortest.FakeTokens(nTokens)
	l := &tokenList{pages: map[int][]byte{}}
	for _, t := range tokens {
		l.ids = append(l.ids, t.ID)
	}
	pageCount := (nTokens + pageSize - 1) / pageSize
	for _, step := range []int{pageSize, pageSize - 1} {
		for off := 0; off == 0 || off+1 < nTokens; off += step {
			if _, done := l.pages[off]; done {
				continue
			}
			end := min(off+pageSize, nTokens)
			summaries := make([]prefactor.APIToken, 0, end-off)
			for _, t := range tokens[off:end] {
				t.AvailableActions = nil // list summaries never carry it
				summaries = append(summaries, t)
			}
			p := prefactor.Pagination{
				ItemCount: nTokens, ItemStart: off + 1, ItemEnd: end,
				PageCount: pageCount, PageIndex: (off+pageSize-1)/pageSize + 1, PageOffset: off, PageSize: pageSize,
			}
			if end < nTokens {
				p.NextPageOffset = &end
			}
			if off > 0 {
				prev := max(off-pageSize, 0)
				p.PreviousPageOffset = &prev
			}
			body, err := json.Marshal(map[string]any{
				"status":     "success",
				"summaries":  summaries,
				"pagination": p,
				"sorting":    prefactor.Sorting{Field: prefactor.SortByID, Direction: prefactor.SortAsc},
			})
			if err != nil {
				tb.Fatal(err)
			}
			l.pages[off] = body
			if end == nTokens {
				break
			}
		}
	}
	return l
}

// newServer serves l on loopback: the page at pagination[offset], one of
// those rendered, for pagination[page_size]=100.
func newServer(tb testing.TB, l *tokenList) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		offset := 0
		if s := q.Get("pagination[offset]"); s != "" {
			offset, _ = strconv.Atoi(s)
		}
		body, ok := l.pages[offset]
		if r.URL.Path != "/api/v1/api_token" || q.Get("pagination[page_size]") != strconv.Itoa(pageSize) ||
			!ok || r.Header.Get("Authorization") != "Bearer "+apiToken {
			http.Error(w, `{"status":"error","code":"invalid_value","message":"unexpected request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// A walker reads the whole list once, calling yield with the ID of each
// token in list order.
type walker func(ctx context.Context, yield func(id string)) error

// An impl is one way of walking the list. A raw one decodes nothing, so it
// yields no IDs.
type impl struct {
	name string
	walk walker
	raw  bool
}

// optional are implementations that build tags add (jsonv2_test.go).
var optional []func(baseURL string) impl

func implementations(tb testing.TB, baseURL string) []impl {
	sdk, err := prefactor.NewClient(apiToken, prefactor.WithBaseURL(baseURL))
	if err != nil {
		tb.Fatal(err)
	}
	impls := []impl{
		{name: "raw", walk: rawTransfer(newHTTPClient(), baseURL), raw: true},
		{name: "encoding-json", walk: handLoop(newHTTPClient(), baseURL, func(r io.Reader, p *page) error {
			return json.NewDecoder(r).Decode(p)
		})},
		{name: "goccy-go-json", walk: handLoop(newHTTPClient(), baseURL, func(r io.Reader, p *page) error {
			return gojson.NewDecoder(r).Decode(p)
		})},
		{name: "sdk", walk: sdkWalk(sdk)},
		{name: "sdk-c8", walk: sdkWalk(sdk, prefactor.WithConcurrency(8))},
	}
	for _, f := range optional {
		impls = append(impls, f(baseURL))
	}
	return impls
}

// newHTTPClient gives each hand-written loop a transport of its own, with
// the standard library's defaults.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

func sdkWalk(c *prefactor.Client, opts ...prefactor.RequestOption) walker {
	return func(ctx context.Context, yield func(string)) error {
		// Explicit options: the page size and order the hand-written loops
		// ask for, whatever All's defaults are.
		o := &prefactor.ListAPITokensOptions{PageSize: pageSize, Sort: prefactor.Sort{Field: prefactor.SortByID}}
		for tok, err := range c.APITokens.All(ctx, o, opts...) {
			if err != nil {
				return err
			}
			yield(tok.ID)
		}
		return nil
	}
}

// page is what a hand-written loop decodes a list body into. It uses the
// SDK's types for the token, pagination and sorting, so that every
// implementation fills the same fields.
type page struct {
	Status     string                `json:"status"`
	Summaries  []prefactor.APIToken  `json:"summaries"`
	Pagination *prefactor.Pagination `json:"pagination"`
	Sorting    *prefactor.Sorting    `json:"sorting"`
}

// get sends the request for the page at offset, as the SDK would word it,
// hands the body to read, then drains and closes it so that the
// connection is reused.
func get(ctx context.Context, hc *http.Client, baseURL string, offset int, read func(io.Reader) error) error {
	q := url.Values{}
	q.Set("pagination[page_size]", strconv.Itoa(pageSize))
	q.Set("sorting", "id")
	if offset > 0 {
		q.Set("pagination[offset]", strconv.Itoa(offset))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/v1/api_token?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET offset %d: status %d", offset, resp.StatusCode)
	}
	if err := read(resp.Body); err != nil {
		return fmt.Errorf("GET offset %d: %w", offset, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// rawTransfer is the floor: it fetches every page at offsets it knows in
// advance and discards the bodies.
func rawTransfer(hc *http.Client, baseURL string) walker {
	discard := func(io.Reader) error { return nil }
	return func(ctx context.Context, _ func(string)) error {
		for off := 0; off < nTokens; off += pageSize {
			if err := get(ctx, hc, baseURL, off, discard); err != nil {
				return err
			}
		}
		return nil
	}
}

// handLoop is the loop a careful user writes: fetch a page, decode it into
// page with decode, yield its tokens, follow next_page_offset.
func handLoop(hc *http.Client, baseURL string, decode func(io.Reader, *page) error) walker {
	return func(ctx context.Context, yield func(string)) error {
		offset := 0
		for {
			var p page
			if err := get(ctx, hc, baseURL, offset, func(r io.Reader) error { return decode(r, &p) }); err != nil {
				return err
			}
			for i := range p.Summaries {
				yield(p.Summaries[i].ID)
			}
			if p.Pagination == nil || p.Pagination.NextPageOffset == nil {
				return nil
			}
			offset = *p.Pagination.NextPageOffset
		}
	}
}

// sample is one implementation's measurement in one round.
type sample struct {
	nsPerWalk      float64
	allocsPerToken float64
}

// BenchmarkWalk runs every implementation once per round, in an order that
// rotates from round to round, so that all of them see the same state of a
// busy machine. Each sub-benchmark reports ns/op (one whole walk), and
// allocs/token and ns/token; at the end the benchmark logs each
// implementation's medians over the rounds as ratios to the raw transfer of
// the same round (stdout). Every walk must yield the whole list in order.
func BenchmarkWalk(b *testing.B) {
	l := renderList(b)
	srv := newServer(b, l)
	impls := implementations(b, srv.URL)
	samples := make(map[string][]sample)
	for _, im := range impls {
		samples[im.name] = make([]sample, *rounds)
	}
	for r := range *rounds {
		for j := range impls {
			im := impls[(r+j)%len(impls)]
			b.Run(fmt.Sprintf("round=%02d/impl=%s", r, im.name), func(b *testing.B) {
				samples[im.name][r] = measure(b, im, l.ids)
			})
		}
	}
	// b.Log of a benchmark with sub-benchmarks is not shown; print.
	fmt.Print(summary(impls, samples))
}

func measure(b *testing.B, im impl, ids []string) sample {
	ctx := context.Background()
	var before, after runtime.MemStats
	b.ReportAllocs()
	runtime.ReadMemStats(&before)
	start := time.Now()
	walks := 0
	for b.Loop() {
		n := 0
		err := im.walk(ctx, func(id string) {
			if n < len(ids) && id != ids[n] {
				b.Fatalf("%s: token %d is %s, want %s", im.name, n, id, ids[n])
			}
			n++
		})
		if err != nil {
			b.Fatalf("%s: %v", im.name, err)
		}
		if !im.raw && n != len(ids) {
			b.Fatalf("%s: walk yielded %d tokens, want %d", im.name, n, len(ids))
		}
		walks++
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	s := sample{
		nsPerWalk:      float64(elapsed.Nanoseconds()) / float64(walks),
		allocsPerToken: float64(after.Mallocs-before.Mallocs) / float64(walks) / nTokens,
	}
	b.ReportMetric(s.nsPerWalk/nTokens, "ns/token")
	b.ReportMetric(s.allocsPerToken, "allocs/token")
	return s
}

// summary is a table of each implementation's medians over the rounds:
// time per walk as a ratio to the raw transfer of the same round (with the
// smallest and largest ratio seen), as a ratio to the goccy/go-json loop,
// and allocations per token.
func summary(impls []impl, samples map[string][]sample) string {
	ratios := func(name, base string) []float64 {
		var out []float64
		for r, s := range samples[name] {
			out = append(out, s.nsPerWalk/samples[base][r].nsPerWalk)
		}
		slices.Sort(out)
		return out
	}
	names := make([]string, 0, len(impls))
	for _, im := range impls {
		names = append(names, im.name)
	}
	slices.SortStableFunc(names, func(a, b string) int {
		return cmp.Compare(median(ratios(a, "raw")), median(ratios(b, "raw")))
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "medians of %d rounds, %d tokens in pages of %d, %s %s/%s, GOMAXPROCS=%d\n",
		*rounds, nTokens, pageSize, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&sb, "| implementation | × raw transfer (median) | min–max | × goccy-go-json loop | ms/walk | allocs/token |\n")
	fmt.Fprintf(&sb, "| --- | --- | --- | --- | --- | --- |\n")
	for _, name := range names {
		raw, goccy := ratios(name, "raw"), ratios(name, "goccy-go-json")
		var ns, allocs []float64
		for _, s := range samples[name] {
			ns = append(ns, s.nsPerWalk)
			allocs = append(allocs, s.allocsPerToken)
		}
		slices.Sort(ns)
		slices.Sort(allocs)
		fmt.Fprintf(&sb, "| %s | %.2f | %.2f–%.2f | %.2f | %.1f | %.2f |\n",
			name, median(raw), raw[0], raw[len(raw)-1], median(goccy), median(ns)/1e6, median(allocs))
	}
	return sb.String()
}

// median of sorted values.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
