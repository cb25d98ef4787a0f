package prefactortest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

func intp(n int) *int { return &n }

func TestPaginationArithmetic(t *testing.T) {
	// 42 of FakeTokens(70) are the caller's, the list without account_id;
	// they are sorted by ID, the fake's default order.
	all := prefactortest.FakeTokens(70)
	tokens := callersTokens(all)
	if len(tokens) != 42 {
		t.Fatalf("%d of FakeTokens(70) in the caller's account, want 42", len(tokens))
	}
	srv := prefactortest.NewServer(t, all...)
	empty := prefactortest.NewServer(t)

	tests := []struct {
		name  string
		srv   *prefactortest.Server
		query string
		want  prefactor.Pagination
	}{
		{"default size", srv, "",
			prefactor.Pagination{ItemCount: 42, ItemStart: 1, ItemEnd: 25, PageCount: 2, PageIndex: 1, PageOffset: 0, PageSize: 25, NextPageOffset: intp(25)}},
		{"first", srv, "pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, ItemStart: 1, ItemEnd: 10, PageCount: 5, PageIndex: 1, PageOffset: 0, PageSize: 10, NextPageOffset: intp(10)}},
		{"explicit offset 0", srv, "pagination[offset]=0&pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, ItemStart: 1, ItemEnd: 10, PageCount: 5, PageIndex: 1, PageOffset: 0, PageSize: 10, NextPageOffset: intp(10)}},
		{"middle", srv, "pagination[offset]=20&pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, ItemStart: 21, ItemEnd: 30, PageCount: 5, PageIndex: 3, PageOffset: 20, PageSize: 10, NextPageOffset: intp(30), PreviousPageOffset: intp(10)}},
		{"last, partly filled", srv, "pagination[offset]=40&pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, ItemStart: 41, ItemEnd: 42, PageCount: 5, PageIndex: 5, PageOffset: 40, PageSize: 10, PreviousPageOffset: intp(30)}},
		{"last, exactly filled", srv, "pagination[offset]=21&pagination[page_size]=21",
			prefactor.Pagination{ItemCount: 42, ItemStart: 22, ItemEnd: 42, PageCount: 2, PageIndex: 2, PageOffset: 21, PageSize: 21, PreviousPageOffset: intp(0)}},
		// Items 1..5 make a short first page before this one.
		{"offset between pages", srv, "pagination[offset]=5&pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, ItemStart: 6, ItemEnd: 15, PageCount: 5, PageIndex: 2, PageOffset: 5, PageSize: 10, NextPageOffset: intp(15), PreviousPageOffset: intp(0)}},
		{"size 1, first", srv, "pagination[page_size]=1",
			prefactor.Pagination{ItemCount: 42, ItemStart: 1, ItemEnd: 1, PageCount: 42, PageIndex: 1, PageOffset: 0, PageSize: 1, NextPageOffset: intp(1)}},
		{"size 1, last", srv, "pagination[offset]=41&pagination[page_size]=1",
			prefactor.Pagination{ItemCount: 42, ItemStart: 42, ItemEnd: 42, PageCount: 42, PageIndex: 42, PageOffset: 41, PageSize: 1, PreviousPageOffset: intp(40)}},
		{"size 100, everything", srv, "pagination[page_size]=100",
			prefactor.Pagination{ItemCount: 42, ItemStart: 1, ItemEnd: 42, PageCount: 1, PageIndex: 1, PageOffset: 0, PageSize: 100}},
		{"size 100, offset into the list", srv, "pagination[offset]=2&pagination[page_size]=100",
			prefactor.Pagination{ItemCount: 42, ItemStart: 3, ItemEnd: 42, PageCount: 2, PageIndex: 2, PageOffset: 2, PageSize: 100, PreviousPageOffset: intp(0)}},
		// The empty page after the last one (41..42 at offset 40, page 5).
		{"offset at the end", srv, "pagination[offset]=42&pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, PageCount: 5, PageIndex: 6, PageOffset: 42, PageSize: 10, PreviousPageOffset: intp(32)}},
		{"offset far past the end", srv, "pagination[offset]=1000&pagination[page_size]=10",
			prefactor.Pagination{ItemCount: 42, PageCount: 5, PageIndex: 101, PageOffset: 1000, PageSize: 10, PreviousPageOffset: intp(990)}},
		{"empty list", empty, "",
			prefactor.Pagination{ItemCount: 0, PageCount: 1, PageIndex: 1, PageOffset: 0, PageSize: 25}},
		{"empty list, offset past the end", empty, "pagination[offset]=10&pagination[page_size]=5",
			prefactor.Pagination{ItemCount: 0, PageCount: 1, PageIndex: 3, PageOffset: 10, PageSize: 5, PreviousPageOffset: intp(5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := decodeList(t, get(t, tt.srv, tt.query, bearer))
			if !sameJSON(t, l.page, tt.want) {
				got, _ := json.Marshal(l.page)
				want, _ := json.Marshal(tt.want)
				t.Errorf("pagination\n got %s\nwant %s", got, want)
			}
			// Both offsets are always present, as null when absent.
			for _, k := range []string{"next_page_offset", "previous_page_offset"} {
				if _, ok := l.Pagination[k]; !ok {
					t.Errorf("pagination has no %q", k)
				}
			}
			var wantIDs []string
			if tt.want.ItemEnd > 0 {
				wantIDs = ids(tokens[tt.want.ItemStart-1 : tt.want.ItemEnd])
			}
			if got := ids(l.Summaries); !slices.Equal(got, wantIDs) {
				t.Errorf("summaries %v, want %v", got, wantIDs)
			}
			if string(l.Sorting) != "null" {
				t.Errorf("sorting %s, want null when none was asked for", l.Sorting)
			}
		})
	}
}

func TestAllWalksEveryPage(t *testing.T) {
	all := prefactortest.FakeTokens(70)
	tokens := callersTokens(all) // 42
	srv := prefactortest.NewServer(t, all...)
	got, err := collect(context.Background(), srv.Client(), &prefactor.ListAPITokensOptions{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, got, tokens) {
		t.Errorf("All returned %v,\nwant %v", ids(got), ids(tokens))
	}
	var offsets []string
	for _, r := range srv.Requests() {
		offsets = append(offsets, r.Query.Get("pagination[offset]"))
	}
	// After the first page, All asks each page from the last token it
	// yielded, to check the seam: one token of overlap.
	if want := []string{"", "9", "19", "29", "39"}; !slices.Equal(offsets, want) {
		t.Errorf("requested offsets %q, want %q", offsets, want)
	}
}

func TestSorting(t *testing.T) {
	// Two tokens per status, given out of order, so that ties by status
	// show the ID tie-break.
	tok := func(id string, st prefactor.TokenStatus) prefactor.APIToken {
		return prefactor.APIToken{ID: id, Type: "api_token", AccountID: prefactortest.AccountID, Status: st, TokenScope: prefactor.TokenScopeAccount}
	}
	srv := prefactortest.NewServer(t,
		tok("e", prefactor.TokenStatusActive), tok("b", prefactor.TokenStatusRevoked), tok("f", prefactor.TokenStatusSuspended),
		tok("a", prefactor.TokenStatusSuspended), tok("d", prefactor.TokenStatusActive), tok("c", prefactor.TokenStatusRevoked))

	tests := []struct {
		query   string
		want    []string
		sorting string
	}{
		{"", []string{"a", "b", "c", "d", "e", "f"}, `null`},
		{"sorting=id", []string{"a", "b", "c", "d", "e", "f"}, `{"field":"id","direction":"asc"}`},
		{"sorting=-id", []string{"f", "e", "d", "c", "b", "a"}, `{"field":"id","direction":"desc"}`},
		// active < revoked < suspended; ties by ID ascending either way.
		{"sorting=status", []string{"d", "e", "b", "c", "a", "f"}, `{"field":"status","direction":"asc"}`},
		{"sorting=-status", []string{"a", "f", "b", "c", "d", "e"}, `{"field":"status","direction":"desc"}`},
		// Sorting applies before pagination.
		{"sorting=-status&pagination[offset]=2&pagination[page_size]=3", []string{"b", "c", "d"}, `{"field":"status","direction":"desc"}`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			l := decodeList(t, get(t, srv, tt.query, bearer))
			if got := ids(l.Summaries); !slices.Equal(got, tt.want) {
				t.Errorf("order %v, want %v", got, tt.want)
			}
			if string(l.Sorting) != tt.sorting {
				t.Errorf("sorting %s, want %s", l.Sorting, tt.sorting)
			}
		})
	}

	t.Run("through the SDK", func(t *testing.T) {
		page, err := srv.Client().APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{
			Sort: prefactor.Sort{Field: prefactor.SortByStatus, Direction: prefactor.SortDesc},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(page.Items), []string{"a", "f", "b", "c", "d", "e"}; !slices.Equal(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
		if page.Sorting == nil || *page.Sorting != (prefactor.Sorting{Field: prefactor.SortByStatus, Direction: prefactor.SortDesc}) {
			t.Errorf("Sorting %+v", page.Sorting)
		}
	})
}

func TestInvalidParameters(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	tests := []struct {
		query  string
		fields []string
	}{
		{"sorting=title", []string{"sorting"}},
		{"sorting=-name", []string{"sorting"}},
		{"sorting=--id", []string{"sorting"}},
		{"pagination[page_size]=0", []string{"pagination[page_size]"}},
		{"pagination[page_size]=101", []string{"pagination[page_size]"}},
		{"pagination[page_size]=-5", []string{"pagination[page_size]"}},
		{"pagination[page_size]=ten", []string{"pagination[page_size]"}},
		{"pagination[offset]=-1", []string{"pagination[offset]"}},
		{"pagination[offset]=1.5", []string{"pagination[offset]"}},
		{"idempotency_key=" + strings.Repeat("k", 65), []string{"idempotency_key"}},
		{"sorting=email&pagination[offset]=-1&pagination[page_size]=1000", []string{"pagination[offset]", "pagination[page_size]", "sorting"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			e := decodeError(t, get(t, srv, tt.query, bearer), http.StatusBadRequest)
			if e.Code != string(prefactor.CodeInvalidValue) {
				t.Errorf("code %q, want invalid_value", e.Code)
			}
			var fields []string
			for f, msgs := range e.Errors {
				fields = append(fields, f)
				if len(msgs) == 0 || msgs[0] == "" {
					t.Errorf("field %s has no message", f)
				}
				if !strings.Contains(e.Message, f) {
					t.Errorf("message %q does not name %s", e.Message, f)
				}
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("field errors on %v, want %v", fields, tt.fields)
			}
		})
	}

	t.Run("accepted edges", func(t *testing.T) {
		for _, q := range []string{"pagination[page_size]=1", "pagination[page_size]=100", "idempotency_key=" + strings.Repeat("k", 64), "sorting="} {
			decodeList(t, get(t, srv, q, bearer))
		}
	})

	t.Run("through the SDK", func(t *testing.T) {
		_, err := srv.Client().APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Field: prefactor.SortField("title")}})
		e := apiError(t, err)
		if e.StatusCode != http.StatusBadRequest || e.Code != prefactor.CodeInvalidValue || e.Errors["sorting"] == nil {
			t.Errorf("got %+v", e)
		}
	})
}

func TestAccountFilter(t *testing.T) {
	tokens := prefactortest.FakeTokens(42)
	srv := prefactortest.NewServer(t, tokens...)
	c := srv.Client()

	byAccount := map[string][]string{}
	for _, tok := range tokens {
		byAccount[tok.AccountID] = append(byAccount[tok.AccountID], tok.ID)
	}
	if len(byAccount) < 2 {
		t.Fatalf("FakeTokens(42) spans %d accounts; the test needs several", len(byAccount))
	}
	for acct, want := range byAccount {
		got, err := collect(context.Background(), c, &prefactor.ListAPITokensOptions{AccountID: acct, PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), want) {
			t.Errorf("account %s: got %v, want %v", acct, ids(got), want)
		}
	}

	l := decodeList(t, get(t, srv, "account_id="+tokens[0].AccountID+"&pagination[page_size]=5", bearer))
	if n := len(byAccount[tokens[0].AccountID]); l.page.ItemCount != n {
		t.Errorf("item_count %d with account_id, want that account's %d", l.page.ItemCount, n)
	}

	l = decodeList(t, get(t, srv, "account_id=01nosuchaccount0000000000000000x", bearer))
	if len(l.Summaries) != 0 || l.page.ItemCount != 0 {
		t.Errorf("unknown account: %d summaries, item_count %d; want none", len(l.Summaries), l.page.ItemCount)
	}
}

func TestAuthentication(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	tests := []struct {
		name string
		auth string
		code prefactor.ErrorCode
	}{
		{"missing", "", prefactor.CodeNotAuthenticated},
		{"empty bearer", "Bearer ", prefactor.CodeNotAuthenticated},
		{"other scheme", "Basic " + prefactortest.Token, prefactor.CodeNotAuthenticated},
		{"wrong token", "Bearer not-the-token", prefactor.CodeBadAuthToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeError(t, get(t, srv, "", tt.auth), http.StatusUnauthorized)
			if e.Code != string(tt.code) {
				t.Errorf("code %q, want %q", e.Code, tt.code)
			}
		})
	}
	decodeList(t, get(t, srv, "", "bearer "+prefactortest.Token)) // the scheme is case-insensitive

	t.Run("through the SDK", func(t *testing.T) {
		c, err := prefactor.NewClient("wrong", prefactor.WithBaseURL(srv.URL()), prefactor.WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.APITokens.List(context.Background(), nil)
		e := apiError(t, err)
		if e.StatusCode != http.StatusUnauthorized || e.Code != prefactor.CodeBadAuthToken {
			t.Errorf("got %+v", e)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error %q shows the token", err)
		}
	})
}

func TestUnknownRoute(t *testing.T) {
	srv := prefactortest.NewServer(t)
	for _, tt := range []struct{ method, target string }{
		{http.MethodGet, "/api/v1/nothing"},
		{http.MethodGet, "/api/v1/api_token/"},
		{http.MethodPut, listPath},
	} {
		e := decodeError(t, send(t, srv, tt.method, tt.target, bearer), http.StatusNotFound)
		if e.Code != string(prefactor.CodeNotFound) || !strings.Contains(e.Message, tt.target) {
			t.Errorf("%s %s: %+v", tt.method, tt.target, e)
		}
	}
	// Authentication comes first, as on the real service.
	decodeError(t, send(t, srv, http.MethodGet, "/api/v1/nothing", ""), http.StatusUnauthorized)
}

func TestPing(t *testing.T) {
	srv := prefactortest.NewServer(t)
	const path = "/api/v1/ping"

	var body map[string]any
	decodeAnswer(t, send(t, srv, http.MethodGet, path, bearer), http.StatusOK, &body)
	if len(body) != 1 || body["status"] != "success" {
		t.Errorf("ping answered %v, want {\"status\":\"success\"}", body)
	}
	for auth, code := range map[string]prefactor.ErrorCode{"": prefactor.CodeNotAuthenticated, "Bearer revoked": prefactor.CodeBadAuthToken} {
		if e := decodeError(t, send(t, srv, http.MethodGet, path, auth), http.StatusUnauthorized); e.Code != string(code) {
			t.Errorf("ping with %q: %+v, want %s", auth, e, code)
		}
	}
	decodeError(t, send(t, srv, http.MethodPost, path, bearer), http.StatusNotFound) // GET only

	// A fault answers a ping like any request, and it is recorded.
	srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable})
	decodeError(t, send(t, srv, http.MethodGet, path, bearer), http.StatusServiceUnavailable)
	if n := len(srv.Requests()); n != 5 {
		t.Errorf("%d requests recorded, want 5", n)
	}
}

func TestRequestsAreRecorded(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(5)...)
	_, err := srv.Client(prefactor.WithUserAgent("tester/1")).APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{
		AccountID: "acct-1", PageSize: 2, Offset: 2, Sort: prefactor.Sort{Field: prefactor.SortByID, Direction: prefactor.SortDesc},
	})
	if err != nil {
		t.Fatal(err)
	}
	get(t, srv, "", "") // refused, and still recorded

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests recorded, want 2", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodGet || r.Path != listPath {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	for k, want := range map[string]string{"account_id": "acct-1", "pagination[page_size]": "2", "pagination[offset]": "2", "sorting": "-id"} {
		if got := r.Query.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(r.RawQuery, "pagination%5Bpage_size%5D=2") {
		t.Errorf("raw query %q: want the bracketed key percent-encoded, as sent", r.RawQuery)
	}
	if got := r.Header.Get("Authorization"); got != bearer {
		t.Errorf("Authorization %q", got)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "prefactor-go/") || !strings.HasSuffix(ua, " tester/1") {
		t.Errorf("User-Agent %q", ua)
	}
	if r.Body != nil {
		t.Errorf("body %q, want none", r.Body)
	}
	if reqs[1].Header.Get("Authorization") != "" {
		t.Errorf("second request: %+v", reqs[1])
	}

	// The returned slice is a copy.
	reqs[0].Method = "CHANGED"
	reqs[0].Query.Set("account_id", "CHANGED")
	reqs[0].Header.Set("Authorization", "CHANGED")
	if again := srv.Requests()[0]; again.Method != http.MethodGet || again.Query.Get("account_id") != "acct-1" || again.Header.Get("Authorization") != bearer {
		t.Error("Requests shares memory with the server")
	}
}

// Every summary carries agent_id and agent_deployment_id, null or not, and
// no available_actions, even when the tokens given to the fake had some.
func TestListSummariesOnTheWire(t *testing.T) {
	tokens := prefactortest.FakeTokens(42)
	for i := range tokens {
		tokens[i].AvailableActions = &prefactor.TokenActions{Activate: true, Delete: true, Revoke: true, Suspend: true}
	}
	srv := prefactortest.NewServer(t, tokens...)
	respond := prefactortest.ListResponder(tokens)
	req := httptest.NewRequest(http.MethodGet, listPath+"?pagination%5Bpage_size%5D=100", nil)
	resp, err := respond(req)
	if err != nil {
		t.Fatal(err)
	}
	mocked, _ := io.ReadAll(resp.Body)

	for name, body := range map[string][]byte{"server": get(t, srv, "pagination%5Bpage_size%5D=100", bearer).body, "ListResponder": mocked} {
		var l struct{ Summaries []map[string]json.RawMessage }
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		agents := 0
		for _, sum := range l.Summaries {
			if _, ok := sum["available_actions"]; ok {
				t.Errorf("%s: summary %s has available_actions", name, sum["id"])
			}
			for _, k := range []string{"agent_id", "agent_deployment_id"} {
				if _, ok := sum[k]; !ok {
					t.Errorf("%s: summary %s has no %s", name, sum["id"], k)
				}
			}
			if string(sum["agent_id"]) != "null" {
				agents++
			}
		}
		if len(l.Summaries) == 0 || agents == 0 {
			t.Errorf("%s: %d summaries, %d with an agent; want some of each", name, len(l.Summaries), agents)
		}
	}

	// The store holds none; a get computes them from the status.
	for _, tok := range srv.Tokens() {
		if tok.AvailableActions != nil {
			t.Fatalf("Tokens: %s has AvailableActions", tok.ID)
		}
	}
	if tokens[0].Status != prefactor.TokenStatusActive {
		t.Fatalf("the first sample is %s; this test wants an active one", tokens[0].Status)
	}
	got, err := srv.Client().APITokens.Get(context.Background(), tokens[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.AvailableActions; a == nil || a.Activate || a.Delete || !a.Revoke || !a.Suspend {
		t.Errorf("Get of an active token: actions %+v, want suspend and revoke", a)
	}
}

func TestTokensAreCopied(t *testing.T) {
	tokens := prefactortest.FakeTokens(2)
	srv := prefactortest.NewServer(t, tokens...)
	tokens[0].ID = "changed"
	*tokens[1].CreatedByAdminUserID = "changed"
	*tokens[1].LastUsedAt = time.Time{}
	got := srv.Tokens()
	if got[0].ID == "changed" || *got[1].CreatedByAdminUserID == "changed" || got[1].LastUsedAt.IsZero() {
		t.Error("the server shares memory with the tokens it was given")
	}
	got[0].Status = "changed"
	if srv.Tokens()[0].Status == "changed" {
		t.Error("Tokens shares memory with the server")
	}

	srv.AddTokens(prefactor.APIToken{ID: "zzz", Type: "api_token"})
	l := decodeList(t, get(t, srv, "", bearer))
	if n := len(l.Summaries); n != 3 || l.Summaries[2].ID != "zzz" {
		t.Errorf("after AddTokens: %v", ids(l.Summaries))
	}
}

// The server closes when its test ends. Rather than ask whether its port
// still answers (another test's server may have the port by then), a
// request waiting out SetLatency shows it: only Close answers it, with 503.
func TestNewServerClosesWithTheTest(t *testing.T) {
	var status <-chan int
	t.Run("inner", func(t *testing.T) {
		srv := prefactortest.NewServer(t)
		srv.SetLatency(time.Hour)
		status = getInBackground(srv)
		awaitRequest(t, srv, status)
	})
	if got := awaitStatus(t, status); got != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 from Close when the test ended", got)
	}
}

func TestStartAndClose(t *testing.T) {
	srv, err := prefactortest.Start(prefactortest.FakeTokens(2)...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()), prefactor.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.APITokens.List(context.Background(), nil)
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("List: %v, %v", page, err)
	}
	srv.Close()
	srv.Close() // a second Close is harmless
	if _, err := c.APITokens.List(context.Background(), nil); err == nil {
		t.Fatal("List succeeded after Close")
	}
}

func TestNewClientReportsBadOptions(t *testing.T) {
	srv, err := prefactortest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.NewClient(prefactor.WithMaxRetries(-1)); !errors.Is(err, prefactor.ErrInvalidArgument) {
		t.Errorf("NewClient with a bad option: err = %v, want ErrInvalidArgument", err)
	}
	if c := srv.Client(prefactor.WithMaxRetries(-1)); c != nil {
		t.Errorf("Client with a bad option on a Start server = %v, want nil", c)
	}
	if c, err := srv.NewClient(); c == nil || err != nil {
		t.Errorf("NewClient() = %v, %v", c, err)
	}
}

func TestClientOptionsOverrideDefaults(t *testing.T) {
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(1)...)
	other := prefactortest.NewServer(t, prefactortest.FakeTokens(2)...)
	page, err := srv.Client(prefactor.WithBaseURL(other.URL())).APITokens.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || len(srv.Requests()) != 0 {
		t.Errorf("got %d items, %d requests on the first server; want 2 from the other", len(page.Items), len(srv.Requests()))
	}
}

func ExampleServer_FailNext() {
	srv, err := prefactortest.Start(prefactortest.FakeTokens(2)...)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()), prefactor.WithMaxRetries(0))
	if err != nil {
		panic(err)
	}

	srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Message: "down for maintenance"})
	_, err = client.APITokens.List(context.Background(), nil)
	fmt.Println(err)

	page, err := client.APITokens.List(context.Background(), nil)
	fmt.Println(len(page.Items), err)
	// Output:
	// prefactor: list API tokens: GET /api/v1/api_token: 503 unexpected: down for maintenance
	// 2 <nil>
}

// Without account_id the API lists the calling token's account, as the
// reference says ("defaults to token's account"); tokens of other accounts
// show only when asked for by account_id. Tokens without an account (built
// by hand in a test) show in the default list too.
func TestListDefaultsToTheCallersAccount(t *testing.T) {
	caller := prefactortest.AccountID
	if got := prefactortest.FakeTokens(1)[0].AccountID; got != caller {
		t.Fatalf("FakeTokens' first account is %s, want AccountID %s", got, caller)
	}
	tokens := append(prefactortest.FakeTokens(42),
		prefactor.APIToken{ID: "zz-no-account", Type: "api_token", Status: prefactor.TokenStatusActive, TokenScope: prefactor.TokenScopeAccount},
		prefactor.APIToken{ID: "zz-other-account", Type: "api_token", AccountID: "acct-other", Status: prefactor.TokenStatusActive, TokenScope: prefactor.TokenScopeAccount})
	var want []string
	for _, tok := range tokens {
		if tok.AccountID == caller || tok.AccountID == "" {
			want = append(want, tok.ID)
		}
	}
	if len(want) == 0 || len(want) == len(tokens) {
		t.Fatalf("%d of %d tokens in the caller's account; the test needs some outside it", len(want), len(tokens))
	}

	srv := prefactortest.NewServer(t, tokens...)
	got, err := collect(context.Background(), srv.Client(), &prefactor.ListAPITokensOptions{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), want) {
		t.Errorf("without account_id: got %d tokens %v,\nwant the caller's %d %v", len(got), ids(got), len(want), want)
	}
	l := decodeList(t, get(t, srv, "pagination[page_size]=5", bearer))
	if l.page.ItemCount != len(want) {
		t.Errorf("item_count %d, want %d", l.page.ItemCount, len(want))
	}

	// Another account is listed when asked for: the fake has no
	// permission model.
	l = decodeList(t, get(t, srv, "account_id=acct-other", bearer))
	if got := ids(l.Summaries); !slices.Equal(got, []string{"zz-other-account"}) {
		t.Errorf("account_id=acct-other: %v", got)
	}

	// ListResponder applies the same rule.
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, listPath, prefactortest.ListResponder(tokens))
	c, err := prefactor.NewClient("test", prefactor.WithHTTPClient(&http.Client{Transport: mock}))
	if err != nil {
		t.Fatal(err)
	}
	got, err = collect(context.Background(), c, &prefactor.ListAPITokensOptions{PageSize: 10})
	if err != nil || !slices.Equal(ids(got), want) {
		t.Errorf("ListResponder without account_id: %v, %v; want %v", ids(got), err, want)
	}
}

// The pagination fields agree with each other for every offset, also one
// between page boundaries: following previous_page_offset from a page
// lands on the page whose page_index is one less, following
// next_page_offset on the one whose page_index is one more, with the same
// page_count (so an offset between boundaries has a short first page
// before it); previous_page_offset is null exactly on page 1, and on a page
// with items next_page_offset is null exactly on page page_count.
func TestPaginationFieldsAgree(t *testing.T) {
	pageAt := func(respond httpmock.Responder, offset, size int) prefactor.Pagination {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://api.test%s?pagination%%5Boffset%%5D=%d&pagination%%5Bpage_size%%5D=%d", listPath, offset, size), nil)
		resp, err := respond(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Pagination prefactor.Pagination }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Pagination
	}
	for count := range 24 {
		tokens := make([]prefactor.APIToken, count)
		for i := range tokens {
			tokens[i] = prefactor.APIToken{ID: fmt.Sprintf("t%02d", i)}
		}
		respond := prefactortest.ListResponder(tokens)
		for size := 1; size <= 6; size++ {
			for offset := range 30 {
				p := pageAt(respond, offset, size)
				at := fmt.Sprintf("count %d, size %d, offset %d: page %d of %d", count, size, offset, p.PageIndex, p.PageCount)
				if (p.PreviousPageOffset == nil) != (p.PageIndex == 1) {
					t.Fatalf("%s, previous_page_offset %v: null exactly on page 1", at, p.PreviousPageOffset)
				}
				if p.PreviousPageOffset != nil {
					// Its page_count may differ: previous_page_offset is
					// clamped at 0, so from an offset between boundaries
					// it leads onto the usual grid of pages.
					if prev := pageAt(respond, *p.PreviousPageOffset, size); prev.PageIndex != p.PageIndex-1 {
						t.Fatalf("%s; the previous page, at %d, is page %d of %d", at, *p.PreviousPageOffset, prev.PageIndex, prev.PageCount)
					}
				}
				if p.NextPageOffset != nil {
					if next := pageAt(respond, *p.NextPageOffset, size); next.PageIndex != p.PageIndex+1 || next.PageCount != p.PageCount {
						t.Fatalf("%s; the next page, at %d, is page %d of %d", at, *p.NextPageOffset, next.PageIndex, next.PageCount)
					}
				}
				if p.ItemEnd > 0 && (p.PageIndex > p.PageCount || (p.NextPageOffset == nil) != (p.PageIndex == p.PageCount)) {
					t.Fatalf("%s, next_page_offset %v: a page with items is within page_count, and the last exactly when next is null", at, p.NextPageOffset)
				}
			}
		}
	}
}

// Token is shaped like the API's tokens, as its doc says, so code that
// checks the shape of its token accepts the fake's.
func TestTokenIsAJWT(t *testing.T) {
	segs := strings.Split(prefactortest.Token, ".")
	if len(segs) != 3 {
		t.Fatalf("Token has %d segments, want 3", len(segs))
	}
	var decoded []string
	for _, seg := range segs {
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			t.Fatalf("segment %q is not base64url: %v", seg, err)
		}
		decoded = append(decoded, string(b))
	}
	if decoded[0] != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header %s", decoded[0])
	}
	if want := `{"sub":"prefactortest","account_id":"` + prefactortest.AccountID + `"}`; decoded[1] != want {
		t.Errorf("payload %s, want %s", decoded[1], want)
	}
	if _, err := prefactor.NewClient(prefactortest.Token); err != nil {
		t.Errorf("NewClient refuses Token: %v", err)
	}
}
