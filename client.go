package prefactor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

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
)

// Client talks to the Prefactor API. Create one with NewClient or
// NewClientFromEnv and share it: it is safe for concurrent use.
//
// Printing a Client with fmt or logging it with log/slog never shows the
// bearer token.
type Client struct {
	// APITokens lists, creates and manages the account's API tokens.
	APITokens *APITokensService

	token     Secret
	baseURL   *url.URL
	userAgent string
	logger    *slog.Logger
	hc        *http.Client          // sends each attempt; see newHTTPClient
	loop      *retryablehttp.Client // the retry loop around hc; see newLoop
	closeIdle func()                // closes the transport's idle connections

	// The retry settings, which newLoop and retryDecision read.
	maxRetries      int
	retryWaitMin    time.Duration
	retryWaitMax    time.Duration
	retryAfterLimit time.Duration
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
// retry policy in docs/retries.md); 0 disables retries. Default: 3.
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
// ErrInvalidArgument rather than failing at the first request. A token must
// be made of the characters RFC 6750 allows in a bearer token: letters,
// digits, "-", ".", "_", "~", "+", "/", then any number of "=".
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
	if err := checkToken(token); err != nil {
		return nil, invalidArgument("new client", err)
	}
	base, err := parseBaseURL(cfg.baseURL, cfg.insecureHTTP)
	if err != nil {
		return nil, scrubError(invalidArgument("new client", err), token)
	}

	c := &Client{
		token:           NewSecret(token),
		baseURL:         base,
		userAgent:       "prefactor-go/" + Version,
		logger:          cfg.logger,
		maxRetries:      cfg.maxRetries,
		retryWaitMin:    cfg.retryWaitMin,
		retryWaitMax:    cfg.retryWaitMax,
		retryAfterLimit: cfg.retryAfterLimit,
	}
	if cfg.userAgent != "" {
		c.userAgent += " " + cfg.userAgent
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.hc, c.closeIdle = newHTTPClient(&cfg)
	c.loop = c.newLoop(c.hc, backoff)
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

// CloseIdleConnections closes the keep-alive connections the client holds
// open between requests, as [http.Client.CloseIdleConnections] does; with
// [WithHTTPClient] it closes those of the caller's client. Connections in
// use are left alone. The client stays usable: later requests open new
// connections. Call it when a program or test is done with the API, so no
// connection goroutine outlives it.
func (c *Client) CloseIdleConnections() { c.closeIdle() }

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

func invalidArgument(op string, err error) error {
	return fmt.Errorf("prefactor: %s: %w: %w", op, ErrInvalidArgument, err)
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
