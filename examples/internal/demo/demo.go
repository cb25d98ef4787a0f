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

// Config says how a program connects: its name, its -at and -demo flags,
// and whether the run changes tokens.
type Config struct {
	// Program names the caller on stderr and in the User-Agent.
	Program string
	// At is the -at flag: the time to judge tokens by, when set.
	At Instant
	// Demo is the -demo flag: use the offline demo even when
	// PREFACTOR_API_TOKEN is set.
	Demo bool
	// Mutation names the flag that makes the run change tokens, such as
	// "-apply"; "" when the run changes nothing. Such a run uses the
	// offline demo only with Demo.
	Mutation string
}

// UsageError is a run Connect refuses, before anything is sent, because
// of the flags or the environment; the examples exit 2 on it.
type UsageError struct{ Reason string }

// Error returns the reason.
func (e *UsageError) Error() string { return e.Reason }

// Connect returns a client of the real API when PREFACTOR_API_TOKEN is set
// (at PREFACTOR_API_URL when that is set too); in your own program, that
// part is just prefactor.NewClientFromEnv. Otherwise, or with cfg.Demo, it
// starts an offline fake holding OfflineTokens FakeTokens and says so on
// stderr, with how many of them a list without -account shows (those of
// the fake's own account, prefactortest.AccountID). The fake's clock stands
// at prefactortest.ReferenceTime, so a token it changes or creates fits in
// with the samples.
//
// It never falls back to the demo silently where that would mislead: without
// cfg.Demo, PREFACTOR_API_URL set without PREFACTOR_API_TOKEN, and a run
// that changes tokens (cfg.Mutation) without PREFACTOR_API_TOKEN, are a
// *UsageError naming what is missing. Close the Conn when done.
func Connect(stderr io.Writer, cfg Config) (*Conn, error) {
	ua := prefactor.WithUserAgent("prefactor-go-example/" + cfg.Program)
	token, baseURL := os.Getenv("PREFACTOR_API_TOKEN"), os.Getenv("PREFACTOR_API_URL")
	switch {
	case cfg.Demo:
	case token != "":
		client, err := prefactor.NewClientFromEnv(ua)
		if err != nil {
			return nil, err
		}
		return &Conn{Client: client, Now: cfg.At.Or(time.Now())}, nil
	case baseURL != "":
		return nil, &UsageError{Reason: "PREFACTOR_API_URL is set but PREFACTOR_API_TOKEN is not: set PREFACTOR_API_TOKEN to use that API, or unset PREFACTOR_API_URL (or add -demo) to use the offline demo"}
	case cfg.Mutation != "":
		return nil, &UsageError{Reason: fmt.Sprintf("PREFACTOR_API_TOKEN is not set, and %s changes tokens: set PREFACTOR_API_TOKEN to act on your account, or add -demo to try it on the offline demo", cfg.Mutation)}
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
	why, yours := "PREFACTOR_API_TOKEN is not set", "set PREFACTOR_API_TOKEN to use yours"
	if cfg.Demo {
		why, yours = "-demo", "leave out -demo and set PREFACTOR_API_TOKEN to use yours"
	}
	fmt.Fprintf(stderr, "%s: %s: using an offline fake API with %d sample tokens in %d accounts, as of %s.\n",
		cfg.Program, why, len(tokens), len(accounts), Date(prefactortest.ReferenceTime()))
	fmt.Fprintf(stderr, "%s: without -account you see the %d in the fake token's own account; %s.\n", cfg.Program, own, yours)
	return &Conn{Client: client, Now: cfg.At.Or(prefactortest.ReferenceTime()), stop: srv.Close}, nil
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
