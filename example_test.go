package prefactor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// These examples run against prefactortest's fake API, seeded with sample
// tokens, so their output is checked. Against the real API, create the
// client with prefactor.NewClientFromEnv() instead.
//
// The sample tokens are spread over three accounts. Like the real API, the
// fake lists the calling token's account (prefactortest.AccountID) when
// ListAPITokensOptions.AccountID is empty, so the examples see only part
// of the tokens they seed.

// fakeAPI starts the fake with n sample tokens and returns a client of it.
// The fake's clock stands at the time the samples were made, so the tokens
// it creates and the times it stamps are the same on every run.
func fakeAPI(n int) (*prefactor.Client, func()) {
	srv, err := prefactortest.Start(prefactortest.FakeTokens(n)...)
	if err != nil {
		log.Fatal(err)
	}
	srv.SetClock(prefactortest.ReferenceTime)
	client, err := prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	return client, srv.Close
}

func ExampleAPITokensService_List() {
	client, stop := fakeAPI(24)
	defer stop()

	page, err := client.APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{
		Sort:     prefactor.Sort{Field: prefactor.SortByStatus, Direction: prefactor.SortDesc},
		PageSize: 5,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, tok := range page.Items {
		fmt.Println(tok.ID, tok.Status, tok.TokenScope)
	}
	p := page.Pagination
	fmt.Printf("tokens %d to %d of %d, page %d of %d\n", p.ItemStart, p.ItemEnd, p.ItemCount, p.PageIndex, p.PageCount)
	if next, ok := page.NextOffset(); ok {
		fmt.Println("next page at offset", next)
	}
	// Output:
	// 01k7gemkn0pmzqqjzw2j9e6wdcc14pyr suspended environment
	// 01khhk6rqg0hw2b2zjkggwefxa571hw9 suspended account
	// 01k0f4vk8052g77agpwnynssvygd1563 revoked account
	// 01ka7qn6e0g3deqbgm8z58mepywa35mp revoked account
	// 01jh00v6p8ppcmehyfdtjv22h9vhkjd1 active account
	// tokens 1 to 5 of 15, page 1 of 3
	// next page at offset 5
}

func ExampleAPITokensService_All() {
	client, stop := fakeAPI(42)
	defer stop()

	byStatus := map[prefactor.TokenStatus]int{}
	neverUsed := 0
	for tok, err := range client.APITokens.All(context.Background(), &prefactor.ListAPITokensOptions{PageSize: 10}) {
		if err != nil {
			log.Fatal(err)
		}
		byStatus[tok.Status]++
		if tok.LastUsedAt == nil {
			neverUsed++
		}
	}
	fmt.Println("active:", byStatus[prefactor.TokenStatusActive])
	fmt.Println("suspended:", byStatus[prefactor.TokenStatusSuspended])
	fmt.Println("revoked:", byStatus[prefactor.TokenStatusRevoked])
	fmt.Println("never used:", neverUsed)
	// Output:
	// active: 20
	// suspended: 3
	// revoked: 3
	// never used: 6
}

func ExampleAPIError() {
	srv, err := prefactortest.Start(prefactortest.FakeTokens(3)...)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// explain turns an API error into advice; other errors pass through.
	explain := func(err error) {
		var apiErr *prefactor.APIError
		if !errors.As(err, &apiErr) {
			fmt.Println(err)
			return
		}
		switch apiErr.Code {
		case prefactor.CodeBadAuthToken, prefactor.CodeNotAuthenticated:
			fmt.Println("check PREFACTOR_API_TOKEN:", apiErr.StatusCode, apiErr.Message)
		case prefactor.CodeInvalidValue:
			fmt.Println("the API refused:", slices.Sorted(maps.Keys(apiErr.Errors)))
		default:
			fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Message)
		}
	}

	revoked, err := prefactor.NewClient("a-revoked-token", prefactor.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	_, err = revoked.APITokens.List(context.Background(), nil)
	explain(err)

	client, err := prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{
		Sort: prefactor.Sort{Field: "title"}, // tokens have no title
	})
	explain(err)
	// Output:
	// check PREFACTOR_API_TOKEN: 401 the API token is not valid
	// the API refused: [sorting]
}

// Code that takes an *http.Client (or a *prefactor.Client built on one) can
// be tested without a server: httpmock answers on the transport, and
// prefactortest.ListResponder answers like the API, pagination included.
func Example_mockWithHTTPMock() {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ListResponder(prefactortest.FakeTokens(7)))
	client, err := prefactor.NewClient("test-token", prefactor.WithHTTPClient(&http.Client{Transport: mock}))
	if err != nil {
		log.Fatal(err)
	}

	n := 0
	for _, err := range client.APITokens.All(context.Background(), &prefactor.ListAPITokensOptions{PageSize: 3}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	// 5 of the 7 sample tokens are in the caller's account.
	fmt.Println(n, "tokens in", mock.GetTotalCallCount(), "requests")
	// Output:
	// 5 tokens in 2 requests
}

func ExampleAPITokensService_Create() {
	client, stop := fakeAPI(0)
	defer stop()

	expiry := time.Date(2026, time.June, 30, 0, 0, 0, 0, time.UTC)
	created, err := client.APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{
		TokenScope:    prefactor.TokenScopeEnvironment,
		EnvironmentID: "01j9v3m2a8kq7x0c5n6r4t2w1y",
		ExpiresAt:     &expiry,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.ID, created.Status, created.TokenScope, "expires", created.ExpiresAt.Format(time.DateOnly))

	// The value is a Secret: printed or logged, it is redacted, also inside
	// the whole result.
	fmt.Println(created.Token)
	fmt.Printf("%#v\n", created.Token)
	fmt.Println("value in the printed result:", strings.Contains(fmt.Sprintf("%+v", created), created.Token.Reveal()))

	// Reveal gives the value. The API shows it in this answer only: store
	// it now (here it is printed only to show what Reveal returns).
	fmt.Println(created.Token.Reveal())
	// Output:
	// 01kjpy44e09b9992bje0t0q9e35mn271 active environment expires 2026-06-30
	// [REDACTED]
	// prefactor.Secret("[REDACTED]")
	// value in the printed result: false
	// eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMWtqcHk0NGUwOWI5OTkyYmplMHQwcTllMzVtbjI3MSIsImlhdCI6MTc3MjQ0MzgwMCwiZXhwIjoxNzgyNzc3NjAwfQ.xjy8duTxK6vI5V4bG0KP0MW-5ZHgReviTVwzIVbcNyE
}

func ExampleAPITokensService_Revoke() {
	client, stop := fakeAPI(24)
	defer stop()
	ctx := context.Background()

	// Find the suspended tokens first, then act on them: changing tokens
	// while paging can shift the pages under the iterator.
	var suspended []string
	for tok, err := range client.APITokens.All(ctx, nil) {
		if err != nil {
			log.Fatal(err)
		}
		if tok.Status == prefactor.TokenStatusSuspended {
			suspended = append(suspended, tok.ID)
		}
	}
	for _, id := range suspended {
		tok, err := client.APITokens.Revoke(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tok.ID, tok.Status, tok.UpdatedAt.Format(time.RFC3339))
	}

	// Revocation is final: the service refuses to activate a revoked token
	// (or to revoke it again).
	_, err := client.APITokens.Activate(ctx, suspended[0])
	var apiErr *prefactor.APIError
	if errors.As(err, &apiErr) && apiErr.Code == prefactor.CodeInvalidAction {
		fmt.Println("activate refused:", apiErr.StatusCode, apiErr.Code)
	}

	// Only a revoked token can be deleted.
	if err := client.APITokens.Delete(ctx, suspended[0]); err != nil {
		log.Fatal(err)
	}
	_, err = client.APITokens.Get(ctx, suspended[0])
	fmt.Println("deleted:", errors.Is(err, prefactor.ErrNotFound))
	// Output:
	// 01k7gemkn0pmzqqjzw2j9e6wdcc14pyr revoked 2026-03-02T09:30:00Z
	// 01khhk6rqg0hw2b2zjkggwefxa571hw9 revoked 2026-03-02T09:30:00Z
	// activate refused: 422 invalid_action
	// deleted: true
}
