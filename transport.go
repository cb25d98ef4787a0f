package prefactor

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// This file holds the rules that keep the bearer token on the wire it was
// meant for: which base URLs are accepted, which transport sends each
// attempt, and what a redirect may carry.

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

// newHTTPClient builds the *http.Client that makes each attempt and returns
// the transport whose idle connections Client.CloseIdleConnections closes.
// The transport is the caller's (read at each attempt) or a pooled one of
// our own; the redirect policy drops the Authorization header on the way to
// another host.
func newHTTPClient(cfg *clientConfig) (*http.Client, func()) {
	hc := &http.Client{Timeout: cfg.timeout, CheckRedirect: checkRedirect(nil)}
	if cfg.httpClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = idleConnsPerHost
		hc.Transport = keepIdle{t}
		return hc, t.CloseIdleConnections
	}
	caller := cfg.httpClient
	hc.Transport = callerTransport{caller}
	hc.Jar = caller.Jar
	hc.CheckRedirect = checkRedirect(caller.CheckRedirect)
	if caller.Timeout > 0 && caller.Timeout < hc.Timeout {
		hc.Timeout = caller.Timeout
	}
	return hc, caller.CloseIdleConnections
}

// keepIdle hides the transport's CloseIdleConnections from go-retryablehttp,
// which calls it after every failed call (a 404 included) and would empty
// the connection pool each time.
type keepIdle struct{ http.RoundTripper }

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

// checkRedirect allows up to 10 redirects and removes the Authorization
// header once the chain has left the first request's host and port, or gone
// from https to http: a hop back to the API's host after a detour elsewhere
// goes without it too, since the detour chose where it leads.
// next, the caller's own policy, runs afterwards.
func checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		first := via[0].URL
		for _, hop := range append(via[1:len(via):len(via)], req) {
			if hop.URL.Host != first.Host || (first.Scheme == "https" && hop.URL.Scheme != "https") {
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

// checkToken reports a token that could not travel as a bearer token:
// empty, or with a byte outside RFC 6750's b64token alphabet (letters,
// digits, "-._~+/", then any number of "="). Refusing the rest up front
// also means no quoting or escaping net/http applies can disguise the token
// in an error message. The error names the byte's position, never the
// token.
func checkToken(token string) error {
	if strings.TrimSpace(token) == "" {
		return errors.New("empty API token")
	}
	pad := len(strings.TrimRight(token, "="))
	if pad == 0 {
		return errors.New("API token is only padding ('=')")
	}
	for i := 0; i < pad; i++ {
		if !tokenByte[token[i]] {
			return fmt.Errorf("API token has %s at byte %d; a bearer token holds only letters, digits, - . _ ~ + / and trailing = (RFC 6750)", describeByte(token[i]), i)
		}
	}
	return nil
}

// tokenByte marks the bytes of RFC 6750's b64token before its padding.
var tokenByte = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/") {
		t[c] = true
	}
	return t
}()

// describeByte names a byte for an error without quoting anything secret.
func describeByte(b byte) string {
	switch {
	case b == ' ':
		return "a space"
	case b == '\t':
		return "a tab"
	case b == '\r' || b == '\n':
		return "a line break"
	case b < ' ' || b == 0x7f:
		return "a control character"
	case b >= 0x80:
		return "a non-ASCII byte"
	case b == '=':
		return "'=' before the end"
	}
	return fmt.Sprintf("the character %q", b)
}

// hasControl reports whether s holds a byte net/http refuses in a header
// value (a control character other than tab), which would fail every
// request rather than the constructor.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return true
		}
	}
	return false
}
