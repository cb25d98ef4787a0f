// Package prefactortest helps test code that uses prefactor-go, without the
// network and without a real API token. It offers three ways to stand in
// for the API, from the most faithful to the most direct.
//
// # A fake API server
//
// NewServer starts an in-process fake of the API (an httptest server) that
// authenticates (and answers the token check, GET /api/v1/ping), filters,
// sorts and paginates like the real service; gets, creates, suspends,
// activates, revokes and deletes tokens under the service's lifecycle
// rules, reporting each token's available actions and replaying answers to
// a repeated idempotency key; fails on purpose (Server.FailNext,
// Server.SetLatency) and records the last requests it received
// (Server.Requests: the last DefaultRequestLimit, or as
// Server.SetRequestLimit says, so a long run stays in flat memory). It
// answers as if every request came from one account, AccountID, the account
// of its Token. Server.Client returns a client pointed at it:
//
//	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(30)...)
//	client := srv.Client()
//
// Server.Tokens shows the store after the code under test acted on it,
// Server.SetClock fixes the time stamped on created and changed tokens, and
// Server.SetValidationErrors makes a refused create answer in the API's
// validation_errors form.
//
// # httpmock on a transport of its own
//
// ListResponder and ErrorResponder answer like the fake server, through an
// httpmock.MockTransport given to prefactor.WithHTTPClient. FastRetries
// makes the client's retries wait milliseconds instead of seconds:
//
//	mock := httpmock.NewMockTransport()
//	mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ListResponder(tokens))
//	client, err := prefactor.NewClient("test",
//		prefactor.WithHTTPClient(&http.Client{Transport: mock}),
//		prefactortest.FastRetries())
//
// # httpmock on your own client
//
// The same responders work on the *http.Client your code already passes to
// prefactor.WithHTTPClient, after httpmock.ActivateNonDefault(hc). Give the
// client FastRetries too where your code lets a test add options.
//
// # Sample data and demos
//
// FakeTokens makes realistic, deterministic tokens to seed any of these.
// Start runs the fake server outside tests, as the examples do when no API
// token is set.
package prefactortest
