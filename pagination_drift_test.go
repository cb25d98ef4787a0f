package prefactor_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// A walk in ID order yields every token that exists for the whole walk
// exactly once, and no token twice, while the list changes under it: the
// caller deletes tokens in its loop, or another client creates or deletes
// tokens around the walk's position with every page it asks for. These are
// the scenarios of the table in docs/pagination.md.

// driftScenario is one way the list changes during a walk.
type driftScenario struct {
	name string
	// deleteInLoop reports whether the caller deletes the i-th token it is
	// given (counting from 0), in its loop body.
	deleteInLoop func(i int) bool
	// others is what another client does before each list request: for
	// "create", it adds a token before the requested offset and one after
	// the requested page; for "delete", it deletes one of each.
	others string
}

var driftScenarios = []driftScenario{
	{name: "the caller deletes every token it visits", deleteInLoop: func(int) bool { return true }},
	{name: "the caller deletes one in three", deleteInLoop: func(i int) bool { return i%3 == 0 }},
	{name: "another client creates tokens behind and ahead", others: "create"},
	{name: "another client deletes tokens behind and ahead", others: "delete"},
}

// driftWalk is one configuration of the walk.
type driftWalk struct {
	pageSize, concurrency int
	desc                  bool
}

func (w driftWalk) String() string {
	order := "ascending"
	if w.desc {
		order = "descending"
	}
	return fmt.Sprintf("pages of %d, concurrency %d, %s", w.pageSize, w.concurrency, order)
}

// driftResult is what a walk did, counted over the tokens that existed for
// the whole walk (skipped) and over every token (twice).
type driftResult struct {
	skipped, twice int
	lists          int // list requests the walk sent
	err            error
}

// runDrift walks n tokens as w says while sc changes the list.
func runDrift(t *testing.T, n int, sc driftScenario, w driftWalk) driftResult {
	t.Helper()
	tokens := prefactortest.FakeTokens(n)
	for i := range tokens {
		tokens[i].AccountID, tokens[i].Status = prefactortest.AccountID, prefactor.TokenStatusActive
	}
	srv := prefactortest.NewServer(t, tokens...)
	srv.SetRequestLimit(0)
	other := srv.Client()
	ctx := context.Background()

	var mu sync.Mutex // guards deleted and the others' choices
	deleted := map[string]bool{}
	// remove revokes and deletes id, which claim took for deletion.
	remove := func(c *prefactor.Client, id string) {
		if _, err := c.APITokens.Revoke(ctx, id); err != nil {
			t.Errorf("revoking %s: %v", id, err)
		}
		if err := c.APITokens.Delete(ctx, id); err != nil {
			t.Errorf("deleting %s: %v", id, err)
		}
	}

	rng := rand.New(rand.NewPCG(uint64(n), uint64(len(sc.name))))
	created := 0
	var lists int
	// act is another client's work before a list request at offset for
	// size tokens, around that part of the list in the walk's order.
	act := func(offset, size int) {
		mu.Lock()
		defer mu.Unlock()
		lists++
		if sc.others == "" {
			return
		}
		ids := []string{}
		for _, tok := range srv.Tokens() {
			if !deleted[tok.ID] {
				ids = append(ids, tok.ID)
			}
		}
		slices.Sort(ids)
		if w.desc {
			slices.Reverse(ids)
		}
		behind, ahead := -1, -1
		if reach := min(offset, len(ids)); reach > 1 {
			behind = 1 + rng.IntN(reach-1)
		}
		if end := offset + size + 1; end < len(ids) {
			ahead = end + rng.IntN(len(ids)-end)
		}
		var doomed []string
		defer func() {
			mu.Unlock() // deleting takes requests of their own
			for _, id := range doomed {
				remove(other, id)
			}
			mu.Lock()
		}()
		for _, p := range []int{behind, ahead} {
			if p < 0 {
				continue
			}
			switch sc.others {
			case "create":
				// An ID between the tokens at p-1 and p in the walk's order.
				lower := ids[p-1]
				if w.desc {
					lower = ids[p]
				}
				created++
				tok := tokens[0]
				tok.ID = lower + "n" + strconv.Itoa(created)
				srv.AddTokens(tok)
			case "delete":
				deleted[ids[p]] = true
				doomed = append(doomed, ids[p])
			}
		}
	}

	caller, err := srv.NewClient(prefactor.WithHTTPClient(&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/api_token" {
			offset, _ := strconv.Atoi(r.URL.Query().Get("pagination[offset]"))
			size, _ := strconv.Atoi(r.URL.Query().Get("pagination[page_size]"))
			act(offset, size)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(caller.CloseIdleConnections)

	opts := &prefactor.ListAPITokensOptions{PageSize: w.pageSize}
	if w.desc {
		opts.Sort = prefactor.Sort{Field: prefactor.SortByID, Direction: prefactor.SortDesc}
	}
	seen := map[string]int{}
	var res driftResult
	i := 0
	for tok, err := range caller.APITokens.All(ctx, opts, prefactor.WithConcurrency(w.concurrency)) {
		if err != nil {
			res.err = err
			break
		}
		seen[tok.ID]++
		if sc.deleteInLoop != nil && sc.deleteInLoop(i) {
			mu.Lock()
			deleted[tok.ID] = true
			mu.Unlock()
			remove(caller, tok.ID)
		}
		i++
	}
	for _, tok := range tokens {
		if !deleted[tok.ID] && seen[tok.ID] == 0 {
			res.skipped++
		}
	}
	for _, k := range seen {
		if k > 1 {
			res.twice++
		}
	}
	res.lists = lists
	return res
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// driftWalks are the configurations every scenario runs in.
var driftWalks = []driftWalk{
	{pageSize: 10, concurrency: 1},
	{pageSize: 10, concurrency: 8},
	{pageSize: 100, concurrency: 1},
	{pageSize: 100, concurrency: 8},
	{pageSize: 10, concurrency: 1, desc: true},
	{pageSize: 10, concurrency: 8, desc: true},
	{pageSize: 100, concurrency: 1, desc: true},
	{pageSize: 100, concurrency: 8, desc: true},
}

// driftTokens is how many tokens the list-changing walks start with.
var driftTokens = flag.Int("drift-tokens", 300, "tokens in the list that TestAllExactlyOnceWhileTheListChanges changes while it walks it")

func TestAllExactlyOnceWhileTheListChanges(t *testing.T) {
	n := *driftTokens
	for _, sc := range driftScenarios {
		for _, w := range driftWalks {
			t.Run(sc.name+"/"+w.String(), func(t *testing.T) {
				t.Parallel()
				res := runDrift(t, n, sc, w)
				if res.err != nil || res.skipped != 0 || res.twice != 0 {
					t.Errorf("%d of the tokens that existed for the whole walk never yielded, %d yielded twice, error %v; want none",
						res.skipped, res.twice, res.err)
				}
				t.Logf("%s | %s | %d list requests", sc.name, w, res.lists)
			})
		}
	}
}

// Over a list nobody changes, the walk in ID order costs what following
// next_page_offset costs, give or take one request: All(ctx, nil) over 300
// tokens asks 4 pages (of 100, the default, then 99 new each).
func TestAllUnchangedListRequests(t *testing.T) {
	tokens := prefactortest.FakeTokens(300)
	for i := range tokens {
		tokens[i].AccountID = prefactortest.AccountID
	}
	srv := prefactortest.NewServer(t, tokens...)
	var got []string
	for tok, err := range srv.Client().APITokens.All(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tok.ID)
	}
	if len(got) != 300 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 300 {
		t.Fatalf("yielded %d tokens, sorted %v; want the 300 in ID order", len(got), slices.IsSorted(got))
	}
	var queries []string
	for _, r := range srv.Requests() {
		queries = append(queries, r.Query.Encode())
	}
	want := []string{
		"pagination%5Bpage_size%5D=100&sorting=id",
		"pagination%5Boffset%5D=99&pagination%5Bpage_size%5D=100&sorting=id",
		"pagination%5Boffset%5D=198&pagination%5Bpage_size%5D=100&sorting=id",
		"pagination%5Boffset%5D=297&pagination%5Bpage_size%5D=100&sorting=id",
	}
	if !slices.Equal(queries, want) {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(queries, "\n"), strings.Join(want, "\n"))
	}
}
