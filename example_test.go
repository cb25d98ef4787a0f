package prefactor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"net/http"
	"slices"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// These examples run against prefactortest's fake API, seeded with sample
// tokens, so their output is checked. Against the real API, create the
// client with prefactor.NewClientFromEnv() instead.

// fakeAPI starts the fake with n sample tokens and returns a client of it.
func fakeAPI(n int) (*prefactor.Client, func()) {
	srv, err := prefactortest.Start(prefactortest.FakeTokens(n)...)
	if err != nil {
		log.Fatal(err)
	}
	client, err := prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	return client, srv.Close
}

func ExampleAPITokensService_List() {
	client, stop := fakeAPI(12)
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
	// 01jqkt1v1ggdw26jjy9g075j6hqcbxzd suspended account
	// 01kb6925q0rnmepwbddt747arhkybyhh suspended account
	// 01jxfcp968htcpkn1dkqrbdqkp90s5je revoked environment
	// 01kg0tgy2052g77agpwnynssvygd1563 revoked account
	// 01jh2jg4ygppcmehyfdtjv22h9vhkjd1 active account
	// tokens 1 to 5 of 12, page 1 of 3
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
	// active: 30
	// suspended: 6
	// revoked: 6
	// never used: 10
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
		Sort: prefactor.Sort{Field: prefactor.SortByTitle}, // tokens have no title
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
	fmt.Println(n, "tokens in", mock.GetTotalCallCount(), "requests")
	// Output:
	// 7 tokens in 3 requests
}
