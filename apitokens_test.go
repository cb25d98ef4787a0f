package prefactor_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// The black-box tests (package prefactor_test) run against prefactortest's
// fake API. These helpers are theirs; export_test.go lends them more.

// newFake starts the fake holding n of prefactortest.FakeTokens, all in the
// caller's account so that a list without account_id shows every one, and
// returns it with their IDs in list order.
func newFake(t testing.TB, n int) (*prefactortest.Server, []string) {
	t.Helper()
	tokens := prefactortest.FakeTokens(n)
	ids := make([]string, len(tokens))
	for i := range tokens {
		tokens[i].AccountID = prefactortest.AccountID
		ids[i] = tokens[i].ID
	}
	slices.SortFunc(ids, strings.Compare) // the fake's order without sorting
	return prefactortest.NewServer(t, tokens...), ids
}

// noToken fails the test when s holds the fake's bearer token.
func noToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, prefactortest.Token) {
		t.Errorf("%s leaks the bearer token: %s", what, s)
	}
}

func ptr[T any](v T) *T { return &v }

// jsonHeader makes a Fault's Body go out as JSON, with an X-Request-Id.
var jsonHeader = http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req-123"}}

func TestListQueryEncoding(t *testing.T) {
	tests := []struct {
		name string
		opts *prefactor.ListAPITokensOptions
		want url.Values
		// refused: the fake, like the API, answers 400 invalid_value to a
		// sort field the token list does not have; the query is still
		// sent as asked.
		refused bool
	}{
		{"nil options", nil, url.Values{}, false},
		{"zero options", &prefactor.ListAPITokensOptions{}, url.Values{}, false},
		{"account", &prefactor.ListAPITokensOptions{AccountID: "013xrzp12g3nqk8ngskn1wtxgka5b0nf"}, url.Values{"account_id": {"013xrzp12g3nqk8ngskn1wtxgka5b0nf"}}, false},
		{"sort ascending by default", &prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Field: prefactor.SortByID}}, url.Values{"sorting": {"id"}}, false},
		{"sort asc", &prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Field: prefactor.SortByStatus, Direction: prefactor.SortAsc}}, url.Values{"sorting": {"status"}}, false},
		{"sort desc", &prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Field: prefactor.SortByStatus, Direction: prefactor.SortDesc}}, url.Values{"sorting": {"-status"}}, false},
		{"pagination", &prefactor.ListAPITokensOptions{Offset: 90, PageSize: 10}, url.Values{"pagination[offset]": {"90"}, "pagination[page_size]": {"10"}}, false},
		{"page size bounds", &prefactor.ListAPITokensOptions{PageSize: 100}, url.Values{"pagination[page_size]": {"100"}}, false},
		{"idempotency key", &prefactor.ListAPITokensOptions{IdempotencyKey: strings.Repeat("k", 64)}, url.Values{"idempotency_key": {strings.Repeat("k", 64)}}, false},
		{"everything", &prefactor.ListAPITokensOptions{AccountID: "a b&c", Sort: prefactor.Sort{Field: prefactor.SortField("last_seen"), Direction: prefactor.SortDesc}, Offset: 1, PageSize: 2, IdempotencyKey: "k/1"},
			url.Values{"account_id": {"a b&c"}, "sorting": {"-last_seen"}, "pagination[offset]": {"1"}, "pagination[page_size]": {"2"}, "idempotency_key": {"k/1"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := prefactortest.NewServer(t)
			_, err := srv.Client().APITokens.List(context.Background(), tt.opts)
			var apiErr *prefactor.APIError
			switch {
			case !tt.refused && err != nil:
				t.Fatal(err)
			case tt.refused && (!errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != prefactor.CodeInvalidValue):
				t.Fatalf("List: %v, want the server's 400 invalid_value", err)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			raw := reqs[0].RawQuery
			got, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query %q = %v, want %v", raw, got, tt.want)
			}
			if strings.ContainsAny(raw, "[]") {
				t.Errorf("raw query %q has unescaped brackets", raw)
			}
		})
	}
}

func TestListRejectsBadOptionsWithoutSending(t *testing.T) {
	tests := []struct {
		name string
		opts prefactor.ListAPITokensOptions
		want string
	}{
		{"page size too big", prefactor.ListAPITokensOptions{PageSize: 101}, "page size 101 out of range"},
		{"negative page size", prefactor.ListAPITokensOptions{PageSize: -1}, "page size -1 out of range"},
		{"negative offset", prefactor.ListAPITokensOptions{Offset: -5}, "offset -5 is negative"},
		{"long idempotency key", prefactor.ListAPITokensOptions{IdempotencyKey: strings.Repeat("x", 65)}, "65 characters"},
		{"bad direction", prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Field: prefactor.SortByID, Direction: "up"}}, `sort direction "up"`},
		{"direction without field", prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Direction: prefactor.SortDesc}}, "without a field"},
		{"prefixed field", prefactor.ListAPITokensOptions{Sort: prefactor.Sort{Field: "-id"}}, "bare field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := prefactortest.NewServer(t)
			c := srv.Client()
			opts := tt.opts
			_, listErr := c.APITokens.List(context.Background(), &opts)
			var allErrs []error
			for tok, err := range c.APITokens.All(context.Background(), &opts) {
				if tok != nil {
					t.Errorf("All yielded token %v with bad options", tok)
				}
				allErrs = append(allErrs, err)
			}
			if len(allErrs) != 1 {
				t.Fatalf("All yielded %d errors, want 1", len(allErrs))
			}
			for _, err := range []error{listErr, allErrs[0]} {
				if !errors.Is(err, prefactor.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) ||
					!strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
					t.Errorf("err = %v, want ErrInvalidArgument naming the operation and %q", err, tt.want)
				}
			}
			if n := srv.RequestCount(); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
			if opts != tt.opts {
				t.Errorf("options modified: %+v", opts)
			}
		})
	}
}

// answerNext makes the fake's next answer status with body as JSON, and
// returns a client of it.
func answerNext(t *testing.T, status int, body string) (*prefactor.Client, *prefactortest.Server) {
	t.Helper()
	srv := prefactortest.NewServer(t)
	srv.FailNext(1, prefactortest.Fault{Status: status, Body: body, Header: jsonHeader})
	return srv.Client(), srv
}

func TestListDecodesReferenceExample(t *testing.T) {
	c, _ := answerNext(t, 200, prefactor.ReferenceExample)
	p, err := c.APITokens.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []*prefactor.APIToken{
		{
			ID: "013xrzp12g3nqk8n7f8f9jbg8d18q7tm", Type: "api_token", AccountID: "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
			CreatedByAdminUserID: ptr("013xrzp12g3nqk8nh0qrc2b1jfanmvb9"), EnvironmentID: ptr("013xrzp12g3nqk8nzxvq7jm2arsfg5h1"),
			ExpiresAt: day, InsertedAt: day, UpdatedAt: day, LastUsedAt: &day,
			Status: prefactor.TokenStatusActive, TokenScope: prefactor.TokenScopeAccount,
		},
		{
			ID: "013xrzp12g3nqk8n7f8f9jbg8d18q7tn", Type: "api_token", AccountID: "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
			ExpiresAt:  time.Date(2025, 6, 30, 12, 30, 0, 123456000, time.UTC),
			InsertedAt: time.Date(2023, 12, 31, 22, 0, 0, 0, time.UTC), UpdatedAt: day,
			Status: "quarantined", TokenScope: prefactor.TokenScopeAgentDeployment,
			AgentDeploymentID: ptr("013xrzp12g3nqk8nagentdeploy0001"),
		},
	}
	if len(p.Items) != len(want) {
		t.Fatalf("got %d items, want %d", len(p.Items), len(want))
	}
	for i := range want {
		got := p.Items[i]
		if !got.InsertedAt.Equal(want[i].InsertedAt) {
			t.Errorf("item %d InsertedAt = %v, want %v", i, got.InsertedAt, want[i].InsertedAt)
		}
		got.InsertedAt = want[i].InsertedAt // compare the rest field by field
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("item %d =\n%+v\nwant\n%+v", i, got, want[i])
		}
	}
	wantPag := &prefactor.Pagination{ItemCount: 200, ItemEnd: 100, ItemStart: 91, NextPageOffset: ptr(110), PageCount: 20,
		PageIndex: 10, PageOffset: 90, PageSize: 10, PreviousPageOffset: ptr(80)}
	if !reflect.DeepEqual(p.Pagination, wantPag) {
		t.Errorf("pagination = %+v, want %+v", p.Pagination, wantPag)
	}
	if !reflect.DeepEqual(p.Sorting, &prefactor.Sorting{Field: prefactor.SortByID, Direction: prefactor.SortAsc}) {
		t.Errorf("sorting = %+v", p.Sorting)
	}
	if next, ok := p.NextOffset(); !ok || next != 110 {
		t.Errorf("NextOffset = %d, %v; want 110, true", next, ok)
	}
}

func TestListNullPaginationAndSorting(t *testing.T) {
	c, _ := answerNext(t, 200, `{"status":"success","summaries":[],"pagination":null,"sorting":null}`)
	p, err := c.APITokens.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Items == nil || len(p.Items) != 0 || p.Pagination != nil || p.Sorting != nil {
		t.Errorf("page = %+v, want empty items and nil pagination and sorting", p)
	}
	if _, ok := p.NextOffset(); ok {
		t.Error("NextOffset reports a next page on a page without pagination")
	}
}

// The answers with an empty body, which a Fault cannot send, are in
// TestEmptyBodies (request_test.go).
func TestListErrors(t *testing.T) {
	html502 := "<html><head><title>502 Bad Gateway</title></head><body>\n<center><h1>502 Bad Gateway</h1></center>\n" +
		strings.Repeat("<!-- padding -->\n", 100) + "</body></html>"
	tests := []struct {
		name    string
		status  int
		body    string
		apiErr  *prefactor.APIError // nil: not an API error
		wantMsg []string            // substrings of err.Error()
	}{
		{"not found", 404, `{"status":"error","code":"not_found","message":"Account not found"}`,
			&prefactor.APIError{StatusCode: 404, Code: prefactor.CodeNotFound, Message: "Account not found"},
			[]string{"prefactor: list API tokens: GET /api/v1/api_token: 404 not_found: Account not found"}},
		{"field errors", 400, `{"status":"error","code":"invalid_value","message":"Invalid parameters","errors":{"pagination":{"page_size":["must be at most 100"]}}}`,
			&prefactor.APIError{StatusCode: 400, Code: prefactor.CodeInvalidValue, Message: "Invalid parameters",
				Errors: map[string]any{"pagination": map[string]any{"page_size": []any{"must be at most 100"}}}},
			[]string{"400 invalid_value: Invalid parameters"}},
		{"bad auth", 401, `{"status":"error","code":"bad_authtoken","message":"Invalid token"}`,
			&prefactor.APIError{StatusCode: 401, Code: prefactor.CodeBadAuthToken, Message: "Invalid token"}, []string{"401 bad_authtoken"}},
		{"unknown code kept", 409, `{"status":"error","code":"brand_new_code","message":"m"}`,
			&prefactor.APIError{StatusCode: 409, Code: "brand_new_code", Message: "m"}, []string{"409 brand_new_code: m"}},
		{"html 501", 501, html502,
			&prefactor.APIError{StatusCode: 501, Message: "<html><head><title>502 Bad Gateway</title></head><body> <center><h1>502 Bad Gateway</h1></center> <!-- padding --> <!-- padding --> <!-- padding --> <!-- padding --> <!-- padding --> <!-- padding -->"},
			[]string{"501 Not Implemented: <html>"}},
		{"field errors not an object", 404, `{"status":"error","code":"not_found","message":"m","errors":[]}`,
			&prefactor.APIError{StatusCode: 404, Code: prefactor.CodeNotFound, Message: "m"}, []string{"404 not_found: m"}},
		{"malformed JSON", 200, `{"status":"success","summaries":[}`, nil, []string{"prefactor: list API tokens: decoding response", "invalid character"}},
		{"not JSON", 200, `<html>hello</html>`, nil, []string{"decoding response", "invalid character"}},
		{"array body", 200, `[1,2]`, nil, []string{"decoding response", "cannot unmarshal array"}},
		{"wrong summaries type", 200, `{"status":"success","summaries":{"id":"x"}}`, nil, []string{"decoding response", "cannot unmarshal non-array"}},
		{"summaries missing", 200, `{"status":"success"}`, nil, []string{"no summaries"}},
		{"status error on 200", 200, `{"status":"error","code":"unexpected","message":"m"}`, nil, []string{`status "error" in a success response, want "success"`}},
		{"bad time", 200, `{"status":"success","summaries":[{"id":"x","expires_at":"yesterday"}]}`, nil, []string{"decoding response", "yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := answerNext(t, tt.status, tt.body)
			p, err := c.APITokens.List(context.Background(), nil)
			if err == nil {
				t.Fatalf("List succeeded with %+v", p)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			noToken(t, "error", err.Error())
			if srv.RequestCount() != 1 {
				t.Errorf("%d requests, want 1 (not retried)", srv.RequestCount())
			}
			var apiErr *prefactor.APIError
			if tt.apiErr == nil {
				if errors.As(err, &apiErr) {
					t.Errorf("got *APIError %v for a 2xx body", apiErr)
				}
				return
			}
			apiErr = prefactor.AsAPIError(t, err)
			want := *tt.apiErr
			want.Method, want.Path, want.RequestID, want.Attempts = "GET", "/api/v1/api_token", "req-123", 1
			if !reflect.DeepEqual(*apiErr, want) {
				t.Errorf("APIError =\n%#v\nwant\n%#v", *apiErr, want)
			}
			if len(apiErr.Message) > 200 {
				t.Errorf("message is %d bytes, want at most 200", len(apiErr.Message))
			}
			if got := errors.Is(err, prefactor.ErrNotFound); got != (want.Code == prefactor.CodeNotFound) {
				t.Errorf("errors.Is(err, ErrNotFound) = %v", got)
			}
		})
	}
}

func TestAllBreakSendsNoFurtherRequest(t *testing.T) {
	srv, _ := newFake(t, 3*prefactortest.DefaultPageSize)
	seen := 0
	opts := &prefactor.ListAPITokensOptions{PageSize: prefactortest.DefaultPageSize}
	for _, err := range srv.Client().APITokens.All(context.Background(), opts) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if seen == prefactortest.DefaultPageSize+1 { // first token of the second page
			break
		}
	}
	if n := srv.RequestCount(); n != 2 {
		t.Errorf("%d requests after break, want 2", n)
	}
}

func TestAllYieldsErrorOnceAndStops(t *testing.T) {
	srv, ids := newFake(t, 3*prefactortest.DefaultPageSize)
	var got []string
	opts := &prefactor.ListAPITokensOptions{PageSize: prefactortest.DefaultPageSize}
	for tok, err := range srv.Client().APITokens.All(context.Background(), opts) {
		if err != nil {
			if tok != nil {
				t.Error("error yielded with a token")
			}
			got = append(got, "err:"+string(prefactor.AsAPIError(t, err).Code))
			continue // the iterator must not yield again
		}
		if len(got) == 0 { // the first page is in; the walk asks for the second after it
			srv.FailNext(1, prefactortest.Fault{Status: 403, Code: prefactor.CodeNotPermitted, Message: "nope"})
		}
		got = append(got, tok.ID)
	}
	want := append(ids[:prefactortest.DefaultPageSize:prefactortest.DefaultPageSize], "err:not_permitted")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("yielded %v, want %v", got, want)
	}
	if n := srv.RequestCount(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}
