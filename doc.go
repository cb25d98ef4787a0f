// Package prefactor is a Go client for the Prefactor API's API-token
// endpoints.
//
// Create a Client with NewClient (or NewClientFromEnv, which reads
// PREFACTOR_API_TOKEN and PREFACTOR_API_URL), then use its services:
//
//	client, err := prefactor.NewClient(token)
//	if err != nil {
//		return err
//	}
//	page, err := client.APITokens.List(ctx, &prefactor.ListAPITokensOptions{PageSize: 50})
//
// All walks every page for a for-range loop, by default in ID order, which
// yields every token that exists for the whole walk exactly once, also
// while the loop or others create, revoke or delete tokens:
//
//	for tok, err := range client.APITokens.All(ctx, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(tok.ID, tok.Status)
//	}
//
// With WithConcurrency(n) it fetches up to n pages at once, with the same
// order and guarantees:
//
//	for tok, err := range client.APITokens.All(ctx, nil, prefactor.WithConcurrency(8)) {
//
// Get, Create, Suspend, Activate, Revoke and Delete manage single tokens;
// the value of a created token is a Secret, redacted when printed:
//
//	created, err := client.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{
//		TokenScope: prefactor.TokenScopeAccount,
//	})
//
// # Errors
//
// An HTTP error status is an [*APIError], found with errors.As, with the
// API's code, message and field errors ([APIError.FieldErrors]);
// errors.Is(err, [ErrNotFound]) holds for the code not_found and
// errors.Is(err, [ErrRateLimited]) for a 429. Bad input is reported before
// anything is sent, as an error matching [ErrInvalidArgument]. Every error
// names the operation and none contains the bearer token.
//
// # Per-call options
//
// Every method takes [RequestOption] values: [WithIdempotencyKey],
// [WithConcurrency] and [WithResponseInto]. A method ignores those that do
// not concern it. [Client.Ping] checks the token before a long job.
//
// # Retries
//
// Requests are retried on transport errors, 429 and 5xx (but 501), with
// exponential backoff and jitter, honouring the server's Retry-After. Every
// request is safe to repeat: GETs, and the calls that change something,
// because each carries an idempotency key (WithIdempotencyKey, or a random
// one) that every attempt repeats, so the server acts once.
// See WithMaxRetries, WithRetryWait, WithRetryAfterLimit and WithTimeout.
//
// # Security
//
// The bearer token goes only over https, or plain http to a loopback host
// (WithInsecureHTTP allows other hosts), and never to another host on a
// redirect. NewClient accepts only tokens of RFC 6750's bearer-token
// alphabet. The token appears in no error and no log line, even when a
// server echoes it back, escaped or encoded, and printing a Client shows it
// redacted.
//
// # Testing
//
// The prefactortest package has an in-process fake of the API and httpmock
// responders for tests of code that uses this package.
package prefactor
