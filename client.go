package prefactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-retryablehttp"
)

const (
	// DefaultBaseURL is the Prefactor API the client talks to unless
	// WithBaseURL or PREFACTOR_API_URL names another.
	DefaultBaseURL = "https://app.prefactorai.com"

	// Version is the SDK's version; it goes out in the User-Agent header.
	Version = "0.1.0"
)

// Defaults of the options; each With… function says which it changes.
const (
	defaultMaxRetries      = 3
	defaultRetryWaitMin    = 500 * time.Millisecond
	defaultRetryWaitMax    = 30 * time.Second
	defaultTimeout         = 30 * time.Second
	defaultRetryAfterLimit = 60 * time.Second

	// maxSuccessBody bounds how much of a 2xx body is read. A full page of
	// 100 tokens is about 50 KiB, so this leaves room for growth while
	// keeping a broken or hostile server from filling memory.
	maxSuccessBody = 16 << 20
)

// Client talks to the Prefactor API. Create one with NewClient or
// NewClientFromEnv and share it: it is safe for concurrent use.
//
// Printing a Client with fmt or logging it with log/slog never shows the
// bearer token.
type Client struct {
	// APITokens lists, creates and manages the account's API tokens.
	APITokens *APITokensService

	// token sits behind a pointer: fmt prints nested pointers as addresses,
	// so even a raw dump of the struct (an unexported field of the caller's,
	// a bad verb) cannot reach it.
	token           *Secret
	baseURL         *url.URL
	userAgent       string
	logger          *slog.Logger
	retryAfterLimit time.Duration
	http            *retryablehttp.Client
}

// clientConfig collects what the options set before NewClient builds the
// Client from it.
type clientConfig struct {
	baseURL         string
	httpClient      *http.Client
	maxRetries      int
	retryWaitMin    time.Duration
	retryWaitMax    time.Duration
	timeout         time.Duration
	retryAfterLimit time.Duration
	logger          *slog.Logger
	userAgent       string
	insecureHTTP    bool
}

// Option configures a Client. Pass options to NewClient or NewClientFromEnv;
// an option given a bad value makes the constructor fail.
type Option func(*clientConfig) error

// WithBaseURL points the client at another deployment of the API, such as a
// gateway ("https://gw.example.com/prefactor/"); a path prefix is kept.
// The URL must be absolute, with scheme https, or http on a loopback host
// (see WithInsecureHTTP). Default: DefaultBaseURL.
func WithBaseURL(rawURL string) Option {
	return func(c *clientConfig) error {
		if strings.TrimSpace(rawURL) == "" {
			return errors.New("WithBaseURL: empty URL")
		}
		c.baseURL = rawURL
		return nil
	}
}

// WithHTTPClient sends every request, retries included, through hc's
// Transport (read at each attempt, so httpmock.ActivateNonDefault(hc) works
// before or after NewClient), with hc's cookie jar and redirect policy.
// hc.Timeout, when set and shorter than WithTimeout's, bounds each attempt.
// Default: a pooled transport of the client's own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithMaxRetries sets how many times a failed request is retried (see the
// retry policy in the README); 0 disables retries. Default: 3.
func WithMaxRetries(n int) Option {
	return func(c *clientConfig) error {
		if n < 0 {
			return fmt.Errorf("WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryWait bounds the exponential backoff between retries: the first
// wait is about min, each later one doubles, none exceeds max. A server's
// Retry-After overrides it (see WithRetryAfterLimit).
// Default: 500ms and 30s.
func WithRetryWait(min, max time.Duration) Option {
	return func(c *clientConfig) error {
		if min < 0 || max < min {
			return fmt.Errorf("WithRetryWait: want 0 <= min <= max, got min %s, max %s", min, max)
		}
		c.retryWaitMin, c.retryWaitMax = min, max
		return nil
	}
}

// WithTimeout bounds each attempt, from sending the request to reading the
// last byte of the response. A call may take up to (retries+1) × d plus the
// waits between attempts; bound the whole call with the context.
// Default: 30s.
func WithTimeout(d time.Duration) Option {
	return func(c *clientConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %s is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetryAfterLimit sets the longest Retry-After the client waits out
// before retrying. When the server asks for longer, the call returns the
// *APIError at once, with RetryAfter set, so the caller decides; so it
// does when the wait would outlast the context's deadline.
// Default: 60s.
func WithRetryAfterLimit(d time.Duration) Option {
	return func(c *clientConfig) error {
		if d < 0 {
			return fmt.Errorf("WithRetryAfterLimit: %s is negative", d)
		}
		c.retryAfterLimit = d
		return nil
	}
}

// WithLogger sends the client's request and retry lines to l, at debug
// level. They never include the bearer token. Default: silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error {
		if l == nil {
			return errors.New("WithLogger: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// WithUserAgent appends product (e.g. "my-app/1.2") to the User-Agent
// header, after "prefactor-go/<Version>". Default: nothing appended.
func WithUserAgent(product string) Option {
	return func(c *clientConfig) error {
		product = strings.TrimSpace(product)
		if strings.ContainsAny(product, "\r\n") {
			return errors.New("WithUserAgent: product contains a line break")
		}
		if hasControl(product) {
			return errors.New("WithUserAgent: product contains a control character")
		}
		c.userAgent = product
		return nil
	}
}

// WithInsecureHTTP allows a plain-http base URL on a host that is not
// loopback, such as a sidecar proxy on a private network. The bearer token
// then crosses the network unencrypted. Without it, NewClient refuses such a
// URL; http on 127.0.0.0/8, ::1 and localhost is always allowed.
func WithInsecureHTTP() Option {
	return func(c *clientConfig) error {
		c.insecureHTTP = true
		return nil
	}
}

// NewClient returns a Client that authenticates with the API token token.
// It checks the token and every option and returns an error matching
// ErrInvalidArgument rather than failing at the first request.
func NewClient(token string, opts ...Option) (*Client, error) {
	cfg := clientConfig{
		baseURL:         DefaultBaseURL,
		maxRetries:      defaultMaxRetries,
		retryWaitMin:    defaultRetryWaitMin,
		retryWaitMax:    defaultRetryWaitMax,
		timeout:         defaultTimeout,
		retryAfterLimit: defaultRetryAfterLimit,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, scrubError(invalidArgument("new client", err), token)
		}
	}
	if strings.TrimSpace(token) == "" {
		return nil, invalidArgument("new client", errors.New("empty API token"))
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, invalidArgument("new client", errors.New("API token contains a line break"))
	}
	if hasControl(token) {
		return nil, invalidArgument("new client", errors.New("API token contains a control character"))
	}
	base, err := parseBaseURL(cfg.baseURL, cfg.insecureHTTP)
	if err != nil {
		return nil, scrubError(invalidArgument("new client", err), token)
	}

	secret := Secret(token)
	c := &Client{
		token:           &secret,
		baseURL:         base,
		userAgent:       "prefactor-go/" + Version,
		logger:          cfg.logger,
		retryAfterLimit: cfg.retryAfterLimit,
	}
	if cfg.userAgent != "" {
		c.userAgent += " " + cfg.userAgent
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.http = &retryablehttp.Client{
		HTTPClient:     newHTTPClient(cfg),
		Logger:         nil, // retryablehttp's own logger prints URLs to stderr; ours is slog
		RetryWaitMin:   cfg.retryWaitMin,
		RetryWaitMax:   cfg.retryWaitMax,
		RetryMax:       cfg.maxRetries,
		CheckRetry:     c.checkRetry,
		Backoff:        backoff,
		ErrorHandler:   c.giveUp,
		RequestLogHook: c.logAttempt,
	}
	c.APITokens = &APITokensService{client: c}
	return c, nil
}

// NewClientFromEnv returns a Client configured from the environment:
// PREFACTOR_API_TOKEN (required) and PREFACTOR_API_URL (optional base URL).
// opts are applied after the environment, so they take precedence.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	token := os.Getenv("PREFACTOR_API_TOKEN")
	if token == "" {
		return nil, invalidArgument("new client from env", errors.New("PREFACTOR_API_TOKEN is not set"))
	}
	if u := os.Getenv("PREFACTOR_API_URL"); u != "" {
		opts = append([]Option{WithBaseURL(u)}, opts...)
	}
	return NewClient(token, opts...)
}

// String describes the client without its token.
func (c Client) String() string {
	base := "<nil>"
	if c.baseURL != nil {
		base = c.baseURL.String()
	}
	return "prefactor.Client{BaseURL: " + base + ", Token: " + redacted + "}"
}

// GoString is String, for the %#v verb.
func (c Client) GoString() string { return c.String() }

// Format writes String for every fmt verb, so no verb reaches the token.
func (c Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue makes log/slog record the base URL and a redacted token.
func (c Client) LogValue() slog.Value {
	base := ""
	if c.baseURL != nil {
		base = c.baseURL.String()
	}
	return slog.GroupValue(slog.String("base_url", base), slog.String("token", redacted))
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

func invalidArgument(op string, err error) error {
	return fmt.Errorf("prefactor: %s: %w: %w", op, ErrInvalidArgument, err)
}

// parseBaseURL checks rawURL and returns it with a trailing slash, so that
// relative endpoint paths keep any path prefix.
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

// newHTTPClient builds the *http.Client that makes each attempt. Its
// transport is the caller's (read at each attempt) or a pooled one of our
// own; its redirect policy drops the Authorization header on the way to
// another host.
func newHTTPClient(cfg clientConfig) *http.Client {
	hc := &http.Client{Timeout: cfg.timeout, CheckRedirect: checkRedirect(nil)}
	if cfg.httpClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		hc.Transport = keepIdle{t}
		return hc
	}
	caller := cfg.httpClient
	hc.Transport = callerTransport{caller}
	hc.Jar = caller.Jar
	hc.CheckRedirect = checkRedirect(caller.CheckRedirect)
	if caller.Timeout > 0 && caller.Timeout < hc.Timeout {
		hc.Timeout = caller.Timeout
	}
	return hc
}

// keepIdle hides the transport's CloseIdleConnections from retryablehttp,
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

// apiRequest is one call to the API, described for do.
type apiRequest struct {
	op     string // operation name for errors, e.g. "list API tokens"
	method string
	path   string // relative to the base URL and escaped: "api/v1/api_token/" + url.PathEscape(id)
	query  any    // encoded with go-querystring; nil for none
	body   any    // sent as JSON; nil for none
	// idempotent marks a request that is safe to send twice: a GET, or a
	// mutation that carries an idempotency key. Only those are retried.
	// Every call the SDK makes today is one of the two; the flag keeps a
	// future call without a key from being retried by accident.
	idempotent bool
}

// envelope is a decoded 2xx body that can say whether it is well formed.
type envelope interface {
	check() error
}

// callState travels in the request's context to the retry hooks.
type callState struct {
	idempotent bool
	attempts   int
}

type callStateKey struct{}

func stateOf(ctx context.Context) *callState {
	if s, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return s
	}
	return &callState{}
}

// do is the one request path: it builds the request, sends it through
// retryablehttp under the retry policy, and decodes a 2xx body into out or
// turns any other status into an *APIError. Every error names r.op.
func (c *Client) do(ctx context.Context, r *apiRequest, out envelope) error {
	if ctx == nil {
		return invalidArgument(r.op, errors.New("nil context"))
	}
	u, err := c.endpoint(r.path, r.query)
	if err != nil {
		return invalidArgument(r.op, err)
	}
	var body []byte
	if r.body != nil {
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("prefactor: %s: encoding request body: %w", r.op, err)
		}
	}

	state := &callState{idempotent: r.idempotent}
	ctx = context.WithValue(ctx, callStateKey{}, state)
	var rawBody any // nil interface: retryablehttp sends no body
	if body != nil {
		rawBody = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, rawBody)
	if err != nil {
		return fmt.Errorf("prefactor: %s: %w", r.op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Decoding happens inside the retry loop, so a connection that breaks
	// in the middle of a body is retried like one that breaks before it.
	req.SetResponseHandler(func(resp *http.Response) error {
		return c.handleResponse(resp, out, state)
	})

	resp, err := c.http.Do(req)
	if resp != nil {
		drainClose(resp.Body)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return scrubError(fmt.Errorf("prefactor: %s: %w", r.op, err), c.token.Reveal())
	}
	return nil
}

// endpoint resolves path against the base URL and adds the query: opts
// encoded with go-querystring, or, when opts is already url.Values (encoded
// once for many requests), those.
func (c *Client) endpoint(path string, opts any) (string, error) {
	u := c.baseURL.JoinPath(path)
	switch o := opts.(type) {
	case nil:
	case url.Values:
		u.RawQuery = o.Encode()
	default:
		v, err := query.Values(opts)
		if err != nil {
			return "", err
		}
		u.RawQuery = v.Encode()
	}
	return u.String(), nil
}

// handleResponse decodes a 2xx body into out, or returns the *APIError of
// any other status. A body that fails to arrive is a *bodyReadError, which
// the retry policy treats like a transport error.
func (c *Client) handleResponse(resp *http.Response, out envelope, state *callState) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.newAPIError(resp, state.attempts)
	}
	if out == nil {
		return nil
	}
	body := &bodyReader{r: resp.Body, left: maxSuccessBody}
	var err error
	if fd, ok := out.(fastDecoder); ok {
		err = decodeWhole(body, resp.ContentLength, fd)
	} else {
		err = json.NewDecoder(body).Decode(out)
	}
	switch {
	case body.err != nil:
		return &bodyReadError{err: body.err}
	case errors.Is(err, io.EOF):
		return fmt.Errorf("decoding response: empty body (status %d)", resp.StatusCode)
	case err != nil:
		return fmt.Errorf("decoding response (status %d): %w", resp.StatusCode, err)
	}
	if err := out.check(); err != nil {
		return fmt.Errorf("decoding response (status %d): %w", resp.StatusCode, err)
	}
	return nil
}

// decodeWhole reads the whole body into a pooled buffer and decodes it with
// out's fast path, or with encoding/json when the fast path declines. Reading
// first costs no extra memory: encoding/json's Decoder, too, holds the whole
// value in its buffer before it decodes, but allocates that buffer anew for
// every body. A read error is left in body.err for handleResponse.
func decodeWhole(body *bodyReader, contentLength int64, out fastDecoder) error {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	if contentLength > 0 && contentLength <= maxSuccessBody {
		// Room for the body and for the read that sees its end.
		buf.Grow(int(contentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	if out.decodeFast(buf.Bytes()) {
		return nil
	}
	return json.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(out)
}

// bodyBuffers holds the buffers decodeWhole reads bodies into. A buffer
// that grew past maxPooledBody is left to the garbage collector.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 1 << 20

// ErrResponseTooLarge is returned (wrapped) when a success body exceeds the
// client's 16 MiB limit; no real page comes near it.
var ErrResponseTooLarge = errors.New("response body exceeds 16 MiB")

// bodyReader reads at most left bytes and remembers the first error that is
// not io.EOF, so a broken connection can be told from malformed JSON.
type bodyReader struct {
	r    io.Reader
	left int64
	err  error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Over the limit, unless the body ends exactly here.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			b.err = ErrResponseTooLarge
			return 0, b.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// bodyReadError is a failure to read a response body (a reset or a timeout
// mid-body, or ErrResponseTooLarge).
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "reading response body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// drainClose reads what is left of a body, up to a bound, so the connection
// can be reused, and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// logAttempt is retryablehttp's RequestLogHook: it counts attempts and logs
// each one. Headers are never logged.
func (c *Client) logAttempt(_ retryablehttp.Logger, req *http.Request, retry int) {
	state := stateOf(req.Context())
	state.attempts = retry + 1
	if !c.logger.Enabled(req.Context(), slog.LevelDebug) {
		return // spare building the attributes
	}
	c.logger.DebugContext(req.Context(), "prefactor: sending request",
		slog.String("method", req.Method),
		slog.String("url", scrub(req.URL.Redacted(), c.token.Reveal())),
		slog.Int("attempt", retry+1))
}
