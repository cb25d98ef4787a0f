package prefactor

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// RequestOption adjusts one call of a method that changes something on the
// server (Create, Suspend, Activate, Revoke, Delete). Build it with a With…
// function such as WithIdempotencyKey; a nil RequestOption is ignored.
type RequestOption func(*requestConfig)

// requestConfig collects what the RequestOptions of one call set.
type requestConfig struct {
	idempotencyKey    string
	idempotencyKeySet bool
}

// WithIdempotencyKey sends key as the call's idempotency key instead of a
// generated one. The API remembers the key with the first result: the same
// key with the same request gets that result again, and with a different
// request an *APIError with Code CodeIdempotencyKeyAlreadyUsed. Reuse a key
// of your own to make a call safe to repeat across program restarts.
//
// key must be 1 to 64 characters; an empty or longer key makes the call
// return an error matching ErrInvalidArgument, and nothing is sent.
// Default: a fresh random key for each call, which the SDK's own retries of
// that call reuse.
func WithIdempotencyKey(key string) RequestOption {
	return func(c *requestConfig) {
		c.idempotencyKey, c.idempotencyKeySet = key, true
	}
}

// newRequestConfig applies opts and settles the idempotency key: the
// caller's, checked, or a new random one.
func newRequestConfig(opts []RequestOption) (requestConfig, error) {
	var c requestConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if !c.idempotencyKeySet {
		c.idempotencyKey = newIdempotencyKey()
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

// newIdempotencyKey returns 26 random base32 characters (128 bits) from
// crypto/rand: unique enough that two calls never share one.
func newIdempotencyKey() string { return rand.Text() }
