package prefactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file holds what carries an attempt to the server: which base URLs
// are accepted, the transport that sends each attempt within its time
// limit, and what a redirect may do.

// idleConnsPerHost is how many idle connections the client's own transport
// keeps per host: enough for the most pages a walk fetches at once
// (maxConcurrency) plus other calls sharing the Client, so connections are
// reused rather than churned under load.
const idleConnsPerHost = 64

// parseBaseURL checks rawURL and returns it with a trailing slash, so that
// relative endpoint paths keep any path prefix. It accepts https, and http
// only on a loopback host unless insecureHTTP is set.
func parseBaseURL(rawURL string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		// url.Error quotes the whole URL, credentials included.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("base URL: %w", err)
	}
	// shown is the URL as errors may quote it: no credentials, no query.
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("base URL %q: scheme must be https (or http on loopback)", shown)
	case u.Host == "":
		return nil, fmt.Errorf("base URL %q: no host", shown)
	case u.User != nil:
		return nil, fmt.Errorf("base URL %q: credentials in the URL are not supported; pass the token to NewClient", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("base URL %q: query and fragment are not allowed", shown)
	case u.Scheme == "http" && !insecureHTTP && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("base URL %q: plain http would send the bearer token unencrypted; use https, or WithInsecureHTTP for a trusted network", shown)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newHTTPClient builds the *http.Client that sends each attempt, and returns
// the function that closes the idle connections of the transport beneath.
// Attempts go through an attemptTimeout around the caller's transport (read
// at each attempt) or a pooled one of our own; the redirect policy is
// checkRedirect, then the caller's.
func newHTTPClient(cfg *clientConfig) (*http.Client, func()) {
	timeout := cfg.timeout
	var base http.RoundTripper
	var closeIdle func()
	hc := &http.Client{CheckRedirect: checkRedirect(nil)}
	if caller := cfg.httpClient; caller != nil {
		base = callerTransport{caller}
		hc.Jar = caller.Jar
		hc.CheckRedirect = checkRedirect(caller.CheckRedirect)
		if caller.Timeout > 0 && caller.Timeout < timeout {
			timeout = caller.Timeout
		}
		closeIdle = caller.CloseIdleConnections
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = idleConnsPerHost
		base, closeIdle = t, t.CloseIdleConnections
	}
	hc.Transport = &attemptTimeout{next: base, limit: timeout}
	return hc, closeIdle
}

// callerTransport sends through the caller's *http.Client Transport as it is
// at the time of each attempt, so a mock installed after NewClient still
// sees every request.
type callerTransport struct{ hc *http.Client }

func (t callerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := t.hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(req)
}

// attemptTimeout bounds each attempt, from sending the request to reading
// the last byte of its body, by limit (WithTimeout). It is a RoundTripper
// rather than http.Client.Timeout so that a parallel walk's pacer, which
// wraps it, holds an attempt back before its time starts, not during it.
//
// It has no CloseIdleConnections method on purpose: go-retryablehttp calls
// its http.Client's CloseIdleConnections after every call that fails, a
// 404 included, which would empty the connection pool each time.
// Client.CloseIdleConnections reaches the transport beneath instead.
type attemptTimeout struct {
	next  http.RoundTripper
	limit time.Duration
}

func (t *attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, t.limit)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		err = t.timedOut(ctx, parent, err)
		cancel()
		return nil, err
	}
	body := resp.Body
	if body == nil { // a caller's transport may leave it out; http.Client would fill it in
		body = http.NoBody
	}
	resp.Body = &timedBody{ReadCloser: body, t: t, ctx: ctx, parent: parent, cancel: cancel}
	return resp, nil
}

// timedOut returns err as a timeout of the attempt when the attempt's own
// limit ended it, not the caller's context.
func (t *attemptTimeout) timedOut(ctx, parent context.Context, err error) error {
	if ctx.Err() != nil && parent.Err() == nil {
		return &attemptTimeoutError{limit: t.limit, err: err}
	}
	return err
}

// timedBody is a response body read within its attempt's time limit; Close
// ends the attempt.
type timedBody struct {
	io.ReadCloser
	t           *attemptTimeout
	ctx, parent context.Context
	cancel      context.CancelFunc
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.t.timedOut(b.ctx, b.parent, err)
	}
	return n, err
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is an attempt that ran out of its time. It is a
// net.Error whose Timeout is true, like the errors of http.Client.Timeout.
type attemptTimeoutError struct {
	limit time.Duration
	err   error
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("attempt timed out after %s (WithTimeout): %v", e.limit, e.err)
}
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) Temporary() bool { return true }

var _ net.Error = (*attemptTimeoutError)(nil)

// checkRedirect returns the redirect policy: at most maxRedirects hops; a
// 301, 302 or 303 answer to anything but a GET is refused, since net/http
// would send it on as a GET without its body (a DELETE would become a GET
// that succeeds); and the Authorization header is removed once the chain
// has left the first request's host and port, or gone from https to http:
// a hop back to the API's host after a detour elsewhere goes without it
// too, since the detour chose where it leads. next, the caller's own
// policy, runs afterwards.
func checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		first := via[0]
		if resp := req.Response; resp != nil && first.Method != http.MethodGet {
			switch resp.StatusCode {
			case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
				return fmt.Errorf("refusing a %d redirect of %s to %s: it would be sent on as a GET, without its body",
					resp.StatusCode, first.Method, shorten(req.URL.Redacted(), maxShown, ""))
			}
		}
		for _, hop := range append(via[1:len(via):len(via)], req) {
			if hop.URL.Host != first.URL.Host || (first.URL.Scheme == "https" && hop.URL.Scheme != "https") {
				req.Header.Del("Authorization")
				break
			}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}
