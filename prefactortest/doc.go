// Package prefactortest helps test code that uses prefactor-go, without the
// network and without a real API token.
//
// Three ways to stand in for the API, from the most faithful to the most
// direct:
//
//   - NewServer starts an in-process fake of the API (an httptest server)
//     that authenticates, filters, sorts and paginates like the real
//     service, can fail on purpose (Server.FailNext, Server.SetLatency)
//     and records what it received (Server.Requests). Server.Client returns
//     a client already pointed at it:
//
//     srv := prefactortest.NewServer(t, prefactortest.FakeTokens(30)...)
//     client := srv.Client()
//
//   - ListResponder and ErrorResponder answer through httpmock, on a
//     MockTransport given to prefactor.WithHTTPClient:
//
//     mock := httpmock.NewMockTransport()
//     mock.RegisterResponder(http.MethodGet, "/api/v1/api_token", prefactortest.ListResponder(tokens))
//     client, err := prefactor.NewClient("test", prefactor.WithHTTPClient(&http.Client{Transport: mock}))
//
//   - the same responders on your own *http.Client, after
//     httpmock.ActivateNonDefault(hc).
//
// FakeTokens makes realistic, deterministic tokens to seed either. Start
// runs the fake outside tests, as the examples do when no API token is set.
package prefactortest
