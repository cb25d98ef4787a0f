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

// The whole fake behind an httpmock transport: lists, lifecycle calls and
// faults, without a connection, on the same store and record as the
// server's URL.
func ExampleServer_Responder() {
	srv, err := prefactortest.Start(prefactortest.FakeTokens(10)...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(srv.Responder())
	client, err := prefactor.NewClient(prefactortest.Token,
		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
		prefactortest.FastRetries())
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Method: http.MethodPost})
	page, err := client.APITokens.List(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	revoked, err := client.APITokens.Revoke(ctx, page.Items[0].ID) // a 503, then a retry
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(page.Items), "listed;", revoked.Status, "after", mock.GetTotalCallCount(), "calls")
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path == "/api/v1/api_token/"+revoked.ID+"/revoke")
	}
	// Output:
	// 6 listed; revoked after 3 calls
	// GET false
	// POST true
	// POST true
}
