package prefactor

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestListQueryEncoding(t *testing.T) {
	tests := []struct {
		name string
		opts *ListAPITokensOptions
		want url.Values
	}{
		{"nil options", nil, url.Values{}},
		{"zero options", &ListAPITokensOptions{}, url.Values{}},
		{"account", &ListAPITokensOptions{AccountID: "013xrzp12g3nqk8ngskn1wtxgka5b0nf"}, url.Values{"account_id": {"013xrzp12g3nqk8ngskn1wtxgka5b0nf"}}},
		{"sort ascending by default", &ListAPITokensOptions{Sort: Sort{Field: SortByID}}, url.Values{"sorting": {"id"}}},
		{"sort asc", &ListAPITokensOptions{Sort: Sort{Field: SortByStatus, Direction: SortAsc}}, url.Values{"sorting": {"status"}}},
		{"sort desc", &ListAPITokensOptions{Sort: Sort{Field: SortByStatus, Direction: SortDesc}}, url.Values{"sorting": {"-status"}}},
		{"pagination", &ListAPITokensOptions{Offset: 90, PageSize: 10}, url.Values{"pagination[offset]": {"90"}, "pagination[page_size]": {"10"}}},
		{"page size bounds", &ListAPITokensOptions{PageSize: 100}, url.Values{"pagination[page_size]": {"100"}}},
		{"idempotency key", &ListAPITokensOptions{IdempotencyKey: strings.Repeat("k", 64)}, url.Values{"idempotency_key": {strings.Repeat("k", 64)}}},
		{"everything", &ListAPITokensOptions{AccountID: "a b&c", Sort: Sort{Field: SortByLastSeen, Direction: SortDesc}, Offset: 1, PageSize: 2, IdempotencyKey: "k/1"},
			url.Values{"account_id": {"a b&c"}, "sorting": {"-last_seen"}, "pagination[offset]": {"1"}, "pagination[page_size]": {"2"}, "idempotency_key": {"k/1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) { reply(w, 200, listJSON(0, nil)) })
			if _, err := c.APITokens.List(context.Background(), tt.opts); err != nil {
				t.Fatal(err)
			}
			r := rec.get(0)
			got, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query %q = %v, want %v", r.URL.RawQuery, got, tt.want)
			}
			if strings.ContainsAny(r.URL.RawQuery, "[]") {
				t.Errorf("raw query %q has unescaped brackets", r.URL.RawQuery)
			}
		})
	}
}

func TestListRejectsBadOptionsWithoutSending(t *testing.T) {
	tests := []struct {
		name string
		opts ListAPITokensOptions
		want string
	}{
		{"page size too big", ListAPITokensOptions{PageSize: 101}, "page size 101 out of range"},
		{"negative page size", ListAPITokensOptions{PageSize: -1}, "page size -1 out of range"},
		{"negative offset", ListAPITokensOptions{Offset: -5}, "offset -5 is negative"},
		{"long idempotency key", ListAPITokensOptions{IdempotencyKey: strings.Repeat("x", 65)}, "65 characters"},
		{"bad direction", ListAPITokensOptions{Sort: Sort{Field: SortByID, Direction: "up"}}, `sort direction "up"`},
		{"direction without field", ListAPITokensOptions{Sort: Sort{Direction: SortDesc}}, "without a field"},
		{"prefixed field", ListAPITokensOptions{Sort: Sort{Field: "-id"}}, "bare field name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) { reply(w, 200, listJSON(0, nil)) })
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
				if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) ||
					!strings.HasPrefix(err.Error(), "prefactor: list API tokens: ") {
					t.Errorf("err = %v, want ErrInvalidArgument naming the operation and %q", err, tt.want)
				}
			}
			if n := rec.count(); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
			if opts != tt.opts {
				t.Errorf("options modified: %+v", opts)
			}
		})
	}
}

// referenceExample is the success body of the endpoint reference, with
// fields the SDK does not know yet and values it has no constant for.
const referenceExample = `{
  "status": "success",
  "summaries": [
    {
      "account_id": "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
      "created_by_admin_user_id": "013xrzp12g3nqk8nh0qrc2b1jfanmvb9",
      "environment_id": "013xrzp12g3nqk8nzxvq7jm2arsfg5h1",
      "expires_at": "2024-01-01T00:00:00Z",
      "id": "013xrzp12g3nqk8n7f8f9jbg8d18q7tm",
      "inserted_at": "2024-01-01T00:00:00Z",
      "last_used_at": "2024-01-01T00:00:00Z",
      "status": "active",
      "token_scope": "account",
      "type": "api_token",
      "updated_at": "2024-01-01T00:00:00Z"
    },
    {
      "account_id": "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
      "created_by_admin_user_id": null,
      "environment_id": null,
      "expires_at": "2025-06-30T12:30:00.123456Z",
      "id": "013xrzp12g3nqk8n7f8f9jbg8d18q7tn",
      "inserted_at": "2024-01-01T00:00:00+02:00",
      "last_used_at": null,
      "status": "quarantined",
      "token_scope": "agent_deployment",
      "agent_deployment_id": "013xrzp12g3nqk8nagentdeploy0001",
      "type": "api_token",
      "updated_at": "2024-01-01T00:00:00Z",
      "future_field": {"nested": [1, 2, 3]}
    }
  ],
  "pagination": {
    "item_count": 200, "item_end": 100, "item_start": 91, "next_page_offset": 110,
    "page_count": 20, "page_index": 10, "page_offset": 90, "page_size": 10, "previous_page_offset": 80
  },
  "sorting": {"direction": "asc", "field": "id"},
  "extra": true
}`

func TestListDecodesReferenceExample(t *testing.T) {
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) { reply(w, 200, referenceExample) })
	p, err := c.APITokens.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []*APIToken{
		{
			ID: "013xrzp12g3nqk8n7f8f9jbg8d18q7tm", Type: "api_token", AccountID: "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
			CreatedByAdminUserID: ptr("013xrzp12g3nqk8nh0qrc2b1jfanmvb9"), EnvironmentID: ptr("013xrzp12g3nqk8nzxvq7jm2arsfg5h1"),
			ExpiresAt: day, InsertedAt: day, UpdatedAt: day, LastUsedAt: &day,
			Status: TokenStatusActive, TokenScope: TokenScopeAccount,
		},
		{
			ID: "013xrzp12g3nqk8n7f8f9jbg8d18q7tn", Type: "api_token", AccountID: "013xrzp12g3nqk8ngskn1wtxgka5b0nf",
			ExpiresAt:  time.Date(2025, 6, 30, 12, 30, 0, 123456000, time.UTC),
			InsertedAt: time.Date(2023, 12, 31, 22, 0, 0, 0, time.UTC), UpdatedAt: day,
			Status: "quarantined", TokenScope: TokenScopeAgentDeployment,
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
	wantPag := &Pagination{ItemCount: 200, ItemEnd: 100, ItemStart: 91, NextPageOffset: ptr(110), PageCount: 20,
		PageIndex: 10, PageOffset: 90, PageSize: 10, PreviousPageOffset: ptr(80)}
	if !reflect.DeepEqual(p.Pagination, wantPag) {
		t.Errorf("pagination = %+v, want %+v", p.Pagination, wantPag)
	}
	if !reflect.DeepEqual(p.Sorting, &Sorting{Field: SortByID, Direction: SortAsc}) {
		t.Errorf("sorting = %+v", p.Sorting)
	}
	if next, ok := p.NextOffset(); !ok || next != 110 {
		t.Errorf("NextOffset = %d, %v; want 110, true", next, ok)
	}
}

func TestListNullPaginationAndSorting(t *testing.T) {
	c, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		reply(w, 200, `{"status":"success","summaries":[],"pagination":null,"sorting":null}`)
	})
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

func TestListErrors(t *testing.T) {
	html502 := "<html><head><title>502 Bad Gateway</title></head><body>\n<center><h1>502 Bad Gateway</h1></center>\n" +
		strings.Repeat("<!-- padding -->\n", 100) + "</body></html>"
	tests := []struct {
		name    string
		status  int
		body    string
		apiErr  *APIError // nil: not an API error
		wantMsg []string  // substrings of err.Error()
	}{
		{"not found", 404, `{"status":"error","code":"not_found","message":"Account not found"}`,
			&APIError{StatusCode: 404, Code: CodeNotFound, Message: "Account not found"},
			[]string{"prefactor: list API tokens: GET " + basePrefix + "/api/v1/api_token: 404 not_found: Account not found"}},
		{"field errors", 400, `{"status":"error","code":"invalid_value","message":"Invalid parameters","errors":{"pagination":{"page_size":["must be at most 100"]}}}`,
			&APIError{StatusCode: 400, Code: CodeInvalidValue, Message: "Invalid parameters",
				Errors: map[string]any{"pagination": map[string]any{"page_size": []any{"must be at most 100"}}}},
			[]string{"400 invalid_value: Invalid parameters"}},
		{"bad auth", 401, `{"status":"error","code":"bad_authtoken","message":"Invalid token"}`,
			&APIError{StatusCode: 401, Code: CodeBadAuthToken, Message: "Invalid token"}, []string{"401 bad_authtoken"}},
		{"unknown code kept", 409, `{"status":"error","code":"brand_new_code","message":"m"}`,
			&APIError{StatusCode: 409, Code: "brand_new_code", Message: "m"}, []string{"409 brand_new_code: m"}},
		{"html 501", 501, html502,
			&APIError{StatusCode: 501, Message: "<html><head><title>502 Bad Gateway</title></head><body> <center><h1>502 Bad Gateway</h1></center> <!-- padding --> <!-- padding --> <!-- padding --> <!-- padding --> <!-- padding --> <!-- padding -->"},
			[]string{"501 Not Implemented: <html>"}},
		{"field errors not an object", 404, `{"status":"error","code":"not_found","message":"m","errors":[]}`,
			&APIError{StatusCode: 404, Code: CodeNotFound, Message: "m"}, []string{"404 not_found: m"}},
		{"no content", 204, "", nil, []string{"decoding response: empty body (status 204)"}},
		{"empty error body", 403, "", &APIError{StatusCode: 403}, []string{"403 Forbidden"}},
		{"malformed JSON", 200, `{"status":"success","summaries":[}`, nil, []string{"prefactor: list API tokens: decoding response", "invalid character"}},
		{"not JSON", 200, `<html>hello</html>`, nil, []string{"decoding response", "invalid character"}},
		{"empty body", 200, ``, nil, []string{"decoding response: empty body"}},
		{"array body", 200, `[1,2]`, nil, []string{"decoding response", "cannot unmarshal array"}},
		{"wrong summaries type", 200, `{"status":"success","summaries":{"id":"x"}}`, nil, []string{"decoding response", "cannot unmarshal non-array"}},
		{"summaries missing", 200, `{"status":"success"}`, nil, []string{"no summaries"}},
		{"status error on 200", 200, `{"status":"error","code":"unexpected","message":"m"}`, nil, []string{`status "error" in a success response, want "success"`}},
		{"bad time", 200, `{"status":"success","summaries":[{"id":"x","expires_at":"yesterday"}]}`, nil, []string{"decoding response", "yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				w.Header().Set("X-Request-Id", "req-123")
				reply(w, tt.status, tt.body)
			})
			p, err := c.APITokens.List(context.Background(), nil)
			if err == nil {
				t.Fatalf("List succeeded with %+v", p)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			noSecret(t, "error", err.Error())
			if rec.count() != 1 {
				t.Errorf("%d requests, want 1 (not retried)", rec.count())
			}
			var apiErr *APIError
			if tt.apiErr == nil {
				if errors.As(err, &apiErr) {
					t.Errorf("got *APIError %v for a 2xx body", apiErr)
				}
				return
			}
			apiErr = asAPIError(t, err)
			want := *tt.apiErr
			want.Method, want.Path, want.RequestID, want.Attempts = "GET", basePrefix+"/api/v1/api_token", "req-123", 1
			if !reflect.DeepEqual(*apiErr, want) {
				t.Errorf("APIError =\n%#v\nwant\n%#v", *apiErr, want)
			}
			if len(apiErr.Message) > 200 {
				t.Errorf("message is %d bytes, want at most 200", len(apiErr.Message))
			}
			if got := errors.Is(err, ErrNotFound); got != (want.Code == CodeNotFound) {
				t.Errorf("errors.Is(err, ErrNotFound) = %v", got)
			}
		})
	}
}

func TestAllFollowsNextPageOffsetExactly(t *testing.T) {
	// The reference's own example: page_offset 90, page_size 10, next 110.
	pages := map[string]string{
		"90":  listJSON(0, ptr(110), "t1", "t2"),
		"110": listJSON(0, ptr(111), "t3"),
		"111": listJSON(0, nil, "t4", "t5"),
	}
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		body, ok := pages[r.URL.Query().Get("pagination[offset]")]
		if !ok {
			reply(w, 400, `{"status":"error","code":"invalid_value","message":"unexpected offset"}`)
			return
		}
		reply(w, 200, body)
	})
	opts := &ListAPITokensOptions{Offset: 90, PageSize: 10, AccountID: "acc", Sort: Sort{Field: SortByStatus, Direction: SortDesc}, IdempotencyKey: "first-only"}
	before := *opts
	seq := c.APITokens.All(context.Background(), opts)
	for round := 1; round <= 2; round++ { // ranging twice starts over
		var ids []string
		for tok, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, tok.ID)
		}
		if want := []string{"t1", "t2", "t3", "t4", "t5"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("round %d: ids = %v, want %v", round, ids, want)
		}
	}
	if *opts != before {
		t.Errorf("caller's options changed to %+v", *opts)
	}
	if rec.count() != 6 {
		t.Fatalf("%d requests, want 6", rec.count())
	}
	for i, wantOffset := range []string{"90", "110", "111", "90", "110", "111"} {
		q := rec.get(i).URL.Query()
		if q.Get("pagination[offset]") != wantOffset || q.Get("pagination[page_size]") != "10" ||
			q.Get("account_id") != "acc" || q.Get("sorting") != "-status" {
			t.Errorf("request %d query = %v", i, q)
		}
		wantKey := ""
		if wantOffset == "90" {
			wantKey = "first-only"
		}
		if got := q.Get("idempotency_key"); got != wantKey {
			t.Errorf("request %d idempotency_key = %q, want %q", i, got, wantKey)
		}
	}
}

func TestAllStopsOnStalledPagination(t *testing.T) {
	for _, tc := range []struct {
		name string
		next int
	}{{"same offset", 5}, {"backwards", 2}, {"negative", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				reply(w, 200, listJSON(0, ptr(tc.next), "a"))
			})
			var ids []string
			var errs []error
			for tok, err := range c.APITokens.All(context.Background(), &ListAPITokensOptions{Offset: 5}) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				ids = append(ids, tok.ID)
			}
			if len(errs) != 1 || !errors.Is(errs[0], ErrPaginationStalled) || !strings.Contains(errs[0].Error(), "does not move past offset 5") {
				t.Fatalf("errors = %v, want one ErrPaginationStalled", errs)
			}
			if !reflect.DeepEqual(ids, []string{"a"}) || rec.count() != 1 {
				t.Errorf("ids = %v after %d requests; want [a] after 1", ids, rec.count())
			}
		})
	}
}

func TestAllBreakSendsNoFurtherRequest(t *testing.T) {
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		reply(w, 200, listJSON(0, ptr(n*2), "a", "b"))
	})
	seen := 0
	for _, err := range c.APITokens.All(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if seen == 3 { // first token of the second page
			break
		}
	}
	if rec.count() != 2 {
		t.Errorf("%d requests after break, want 2", rec.count())
	}
}

func TestAllYieldsErrorOnceAndStops(t *testing.T) {
	c, rec := setup(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			reply(w, 200, listJSON(0, ptr(2), "a", "b"))
			return
		}
		reply(w, 403, `{"status":"error","code":"not_permitted","message":"nope"}`)
	})
	var got []string
	for tok, err := range c.APITokens.All(context.Background(), nil) {
		if err != nil {
			if tok != nil {
				t.Error("error yielded with a token")
			}
			got = append(got, "err:"+string(asAPIError(t, err).Code))
			continue // the iterator must not yield again
		}
		got = append(got, tok.ID)
	}
	if want := []string{"a", "b", "err:not_permitted"}; !reflect.DeepEqual(got, want) {
		t.Errorf("yielded %v, want %v", got, want)
	}
	if rec.count() != 2 {
		t.Errorf("%d requests, want 2", rec.count())
	}
}
