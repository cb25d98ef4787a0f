// Package demo holds the little the example programs share: a client of
// the real API or of an offline fake, a readable line for an error, the
// -unused and -at flag values, and the rule for a token gone unused.
package demo

import (
	"errors"
	"fmt"
	"io"
	"os"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// OfflineTokens is how many FakeTokens the offline fake holds.
const OfflineTokens = 42

// Connect returns a client of the real API when PREFACTOR_API_TOKEN is set
// (at PREFACTOR_API_URL when that is set too); in your own program, that
// part is just prefactor.NewClientFromEnv. Without a token it starts an
// offline fake holding OfflineTokens FakeTokens, says so on stderr and
// reports offline. The fake's clock stands at prefactortest.ReferenceTime,
// the "now" of its sample tokens, so a token it changes or creates fits in
// with them. Call stop when done; it stops the fake, if any.
func Connect(stderr io.Writer, program string) (client *prefactor.Client, offline bool, stop func(), err error) {
	ua := prefactor.WithUserAgent("prefactor-go-example/" + program)
	if os.Getenv("PREFACTOR_API_TOKEN") != "" {
		client, err = prefactor.NewClientFromEnv(ua)
		return client, false, func() {}, err
	}
	srv, err := prefactortest.Start(prefactortest.FakeTokens(OfflineTokens)...)
	if err != nil {
		return nil, false, nil, err
	}
	srv.SetClock(prefactortest.ReferenceTime)
	client, err = prefactor.NewClient(prefactortest.Token, prefactor.WithBaseURL(srv.URL()), ua)
	if err != nil {
		srv.Close()
		return nil, false, nil, err
	}
	fmt.Fprintf(stderr, "%s: PREFACTOR_API_TOKEN is not set: using an offline fake API with %d sample tokens (set it to use your account).\n", program, OfflineTokens)
	return client, true, srv.Close, nil
}

// Describe returns err as one line for a person: for an API error, its
// code, message and HTTP status, e.g.
// "invalid_value: sorting … (HTTP 400)"; for any other error, its text.
func Describe(err error) string {
	var apiErr *prefactor.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	code := string(apiErr.Code)
	if code == "" {
		code = "error"
	}
	return fmt.Sprintf("%s: %s (HTTP %d)", code, apiErr.Message, apiErr.StatusCode)
}
