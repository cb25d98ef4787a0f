package prefactor

import (
	"context"
	"net/http"
)

const opPing = "ping"

// Ping checks that the API accepts the client's token: GET /api/v1/ping.
// It returns nil for any 2xx answer, and otherwise the error a call
// returns (see [APITokensService]): an invalid or revoked token gives an
// *APIError with status 401 and Code [CodeBadAuthToken] or
// [CodeNotAuthenticated]. Call it before a long walk, so that a program
// fails fast with a clear message. Of the RequestOptions it takes only
// [WithResponseInto].
func (c *Client) Ping(ctx context.Context, opts ...RequestOption) error {
	cfg, err := newRequestConfig(opts)
	if err != nil {
		return invalidArgument(opPing, err)
	}
	return c.do(ctx, &apiRequest{
		op:           opPing,
		method:       http.MethodGet,
		path:         "api/v1/ping",
		responseInto: cfg.responseInto,
	}, nil)
}
