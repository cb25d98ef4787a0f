// Package demo holds the little the example programs share: a client of
// the real API or of an offline fake and the time to judge tokens by, a
// readable line for an error and for a failed token check, the -unused
// and -at flag values, and the rule for a token gone unused.
package demo

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// OfflineTokens is how many FakeTokens the offline fake holds, across all
// its accounts.
const OfflineTokens = 42

// Conn is a client of the API, real or offline, made by Connect.
type Conn struct {
	// Client is the client to use.
	Client *prefactor.Client
	// Now is the time to judge tokens by: the at given to Connect when it
	// is set; otherwise, offline, prefactortest.ReferenceTime (the "now"
	// of the sample tokens, so that results do not change with the
	// calendar); otherwise the time Connect was called.
	Now time.Time

	stop func() // stops the offline fake; nil when online
}

// Close stops the offline fake, if there is one. It may be called more
// than once.
func (c *Conn) Close() {
	if c.stop != nil {
		c.stop()
	}
}

// Connect returns a client of the real API when PREFACTOR_API_TOKEN is set
// (at PREFACTOR_API_URL when that is set too); in your own program, that
// part is just prefactor.NewClientFromEnv. Without a token it starts an
// offline fake holding OfflineTokens FakeTokens and says so on stderr,
// with how many of them a list without -account shows (those of the
// fake's own account, prefactortest.AccountID). The fake's clock stands at
// prefactortest.ReferenceTime, so a token it changes or creates fits in
// with the samples. program names the caller on stderr and in the
// User-Agent. Close the Conn when done.
func Connect(stderr io.Writer, program string, at Instant) (*Conn, error) {
	ua := prefactor.WithUserAgent("prefactor-go-example/" + program)
	if os.Getenv("PREFACTOR_API_TOKEN") != "" {
		client, err := prefactor.NewClientFromEnv(ua)
		if err != nil {
			return nil, err
		}
		return &Conn{Client: client, Now: at.Or(time.Now())}, nil
	}

	tokens := prefactortest.FakeTokens(OfflineTokens)
	srv, err := prefactortest.Start(tokens...)
	if err != nil {
		return nil, err
	}
	srv.SetClock(prefactortest.ReferenceTime)
	client, err := srv.NewClient(ua)
	if err != nil {
		srv.Close()
		return nil, err
	}
	accounts, own := map[string]bool{}, 0
	for _, t := range tokens {
		accounts[t.AccountID] = true
		if t.AccountID == prefactortest.AccountID {
			own++
		}
	}
	fmt.Fprintf(stderr, "%s: PREFACTOR_API_TOKEN is not set: using an offline fake API with %d sample tokens in %d accounts, as of %s.\n",
		program, len(tokens), len(accounts), Date(prefactortest.ReferenceTime()))
	fmt.Fprintf(stderr, "%s: without -account you see the %d in the fake token's own account; set PREFACTOR_API_TOKEN to use yours.\n", program, own)
	return &Conn{Client: client, Now: at.Or(prefactortest.ReferenceTime()), stop: srv.Close}, nil
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

// DescribePing returns err, from [prefactor.Client.Ping], as one line for
// a person: "the API refused the token: bad_authtoken: … (HTTP 401)" when
// the API answered 401 or 403, else "checking the token: " and what
// [Describe] says of err.
func DescribePing(err error) string {
	var apiErr *prefactor.APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden) {
		return "the API refused the token: " + Describe(err)
	}
	return "checking the token: " + Describe(err)
}
