package prefactor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// revokeAndReport revokes token id and says how that went, on every path:
// the README's "Errors".
func revokeAndReport(ctx context.Context, client *prefactor.Client, id string) {
	tok, err := client.APITokens.Revoke(ctx, id)
	var apiErr *prefactor.APIError
	switch {
	case err == nil:
		fmt.Println("revoked", tok.ID)
	case errors.Is(err, prefactor.ErrInvalidArgument):
		fmt.Println("bad input, nothing sent:", err)
	case errors.Is(err, prefactor.ErrNotFound):
		fmt.Println("no such token:", id)
	case errors.Is(err, prefactor.ErrRateLimited) && errors.As(err, &apiErr):
		fmt.Println("rate limited; the API asks to wait", apiErr.RetryAfter)
	case errors.As(err, &apiErr):
		fmt.Println("refused:", apiErr.StatusCode, apiErr.Code, apiErr.Message)
		for field, msgs := range apiErr.FieldErrors() {
			fmt.Printf("  %s: %s\n", field, strings.Join(msgs, "; "))
		}
	default:
		fmt.Println("no answer:", err)
	}
}

// Every kind of failure a call can end in, each handled without a panic:
// a 429 whose Retry-After is over the client's limit, a 404, a 422 for a
// move the token's state does not allow, and input refused before sending.
func Example_errorHandling() {
	tokens := prefactortest.FakeTokens(7)
	srv, err := prefactortest.Start(tokens...)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	active, revoked := tokens[0], tokens[4]
	srv.FailNext(1, prefactortest.Fault{
		Status:     http.StatusTooManyRequests,
		RetryAfter: 90 * time.Second, // over the default limit of 60 s: no wait
		Method:     http.MethodPost,
		Path:       "/api/v1/api_token/*/revoke",
	})
	for _, id := range []string{active.ID, "no-such-token", revoked.ID, "", active.ID} {
		revokeAndReport(ctx, client, id)
	}
	// Output:
	// rate limited; the API asks to wait 1m30s
	// no such token: no-such-token
	// refused: 422 invalid_action cannot revoke API token 01k6efffpghtcpkn1dkqrbdqkp90s5je: it is revoked; only an active or suspended token can be revoked
	// bad input, nothing sent: prefactor: revoke API token: invalid argument: empty token ID
	// revoked 01jh674x68ppcmehyfdtjv22h9vhkjd1
}
