package prefactor

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
)

// RequestOption adjusts one call. Every method of a service takes them;
// a method ignores the options that do not concern it (see each With…
// function), and a nil RequestOption is ignored.
type RequestOption func(*requestConfig)

// requestConfig collects what the RequestOptions of one call set.
type requestConfig struct {
	idempotencyKey    string
	idempotencyKeySet bool
	concurrency       int
	responseInto      **http.Response
	responseIntoSet   bool
}

// WithIdempotencyKey sends key as the call's idempotency key. The API
// remembers the key with the first result: the same key with the same
// request gets that result again, and with a different request an
// *APIError with Code CodeIdempotencyKeyAlreadyUsed. Reuse a key of your own
// to make a call safe to repeat across program restarts.
//
// Create, Suspend, Activate, Revoke and Delete send a fresh random key
// without it, which their own retries reuse. On List and All it is the
// same as [ListAPITokensOptions.IdempotencyKey] (setting both to different
// keys is an error); Get and Ping ignore it.
//
// key must be 1 to 64 characters of valid UTF-8; any other key makes the
// call return an error matching ErrInvalidArgument, and nothing is sent.
func WithIdempotencyKey(key string) RequestOption {
	return func(c *requestConfig) {
		c.idempotencyKey, c.idempotencyKeySet = key, true
	}
}

// WithConcurrency lets [APITokensService.All] fetch up to n pages at once,
// with the same order and guarantees, pacing itself after a 429 (see
// docs/pagination.md); other methods ignore it. n below 1 means 1, the
// default; above 16, 16. With [WithHTTPClient], give the transport at least
// n idle connections per host.
func WithConcurrency(n int) RequestOption {
	return func(c *requestConfig) { c.concurrency = min(max(n, 1), maxConcurrency) }
}

// WithResponseInto stores in *dst the last HTTP response the call received,
// for its status and headers (such as X-Request-Id); its body has already
// been read and closed. It is set whether the call succeeds or fails with
// an HTTP status, and left alone when no response arrived. For All it is
// the response of the last page fetched. A nil dst makes the call return an
// error matching ErrInvalidArgument.
func WithResponseInto(dst **http.Response) RequestOption {
	return func(c *requestConfig) { c.responseInto, c.responseIntoSet = dst, true }
}

// newRequestConfig applies opts and checks what they set.
func newRequestConfig(opts []RequestOption) (requestConfig, error) {
	c := requestConfig{concurrency: 1}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if c.responseIntoSet && c.responseInto == nil {
		return c, errors.New("WithResponseInto: nil destination")
	}
	if !c.idempotencyKeySet {
		return c, nil
	}
	if c.idempotencyKey == "" {
		return c, errors.New("WithIdempotencyKey: empty key; omit the option to have one generated")
	}
	if err := checkKey(c.idempotencyKey); err != nil {
		return c, fmt.Errorf("WithIdempotencyKey: %w", err)
	}
	return c, nil
}

// mutationKey returns the caller's idempotency key, or a new random one.
func (c *requestConfig) mutationKey() string {
	if c.idempotencyKeySet {
		return c.idempotencyKey
	}
	return newIdempotencyKey()
}

// newIdempotencyKey returns 26 random base32 characters (128 bits) from
// crypto/rand: unique enough that two calls never share one.
func newIdempotencyKey() string { return rand.Text() }
