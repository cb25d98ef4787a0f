package prefactortest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// A client on an httpmock transport, whose first answer is a 503: with
// FastRetries the retry comes after a millisecond or two instead of half a
// second or more.
func ExampleFastRetries() {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token",
		prefactortest.ErrorResponder(http.StatusServiceUnavailable, prefactor.CodeUnexpected, "try again").
			Then(prefactortest.ListResponder(prefactortest.FakeTokens(10))))
	client, err := prefactor.NewClient("test",
		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
		prefactortest.FastRetries())
	if err != nil {
		fmt.Println(err)
		return
	}

	start := time.Now()
	page, err := client.APITokens.List(context.Background(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(page.Items), "tokens after", mock.GetTotalCallCount(), "attempts")
	fmt.Println("under 250 ms:", time.Since(start) < 250*time.Millisecond)
	// Output:
	// 6 tokens after 2 attempts
	// under 250 ms: true
}
