package prefactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrorCode is the machine-readable code of an API error. Codes the SDK does
// not know yet are kept as the server sent them.
type ErrorCode string

// Error codes the API documents.
const (
	CodeBadRequest                ErrorCode = "bad_request"
	CodeBadAuthToken              ErrorCode = "bad_authtoken"
	CodeNotAuthenticated          ErrorCode = "not_authenticated"
	CodeNotPermitted              ErrorCode = "not_permitted"
	CodeNotImplemented            ErrorCode = "not_implemented"
	CodeUnknown                   ErrorCode = "unknown"
	CodeNotFound                  ErrorCode = "not_found"
	CodeUnexpectedRefType         ErrorCode = "unexpected_ref_type"
	CodeUnexpected                ErrorCode = "unexpected"
	CodeInvalidAction             ErrorCode = "invalid_action"
	CodeInvalidValue              ErrorCode = "invalid_value"
	CodeRequiredValue             ErrorCode = "required_value"
	CodeIdempotencyKeyAlreadyUsed ErrorCode = "idempotency_key_already_used"
)

// ErrNotFound matches, through errors.Is, every *APIError whose Code is
// CodeNotFound.
var ErrNotFound = errors.New("not found")

// ErrInvalidArgument matches, through errors.Is, every error the SDK returns
// for bad input before it sends anything: options out of range, an empty
// token, an unusable base URL.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrPaginationStalled matches, through errors.Is, the error an iterator
// yields when the server's next_page_offset does not move past the offset
// just requested. The iterator stops there instead of looping.
var ErrPaginationStalled = errors.New("server pagination does not advance")

// APIError is an HTTP error status from the API. The SDK returns one (wrapped
// with the operation's name; use errors.As) for every response outside 2xx,
// including the last response when retries are used up. It never holds the
// bearer token.
type APIError struct {
	// StatusCode is the HTTP status, e.g. 404.
	StatusCode int
	// Code is the API's error code, or "" when the body was not the API's
	// error JSON (an HTML page from a proxy, say).
	Code ErrorCode
	// Message is the API's message, or a short snippet (at most 200 bytes)
	// of a body that was not the API's error JSON.
	Message string
	// Errors holds the API's per-field errors, when it sent them.
	Errors map[string]any
	// RetryAfter is the wait the server asked for in its Retry-After header,
	// 0 when it sent none.
	RetryAfter time.Duration
	// Method and Path name the request: "GET", "/api/v1/api_token". Path is
	// in escaped form, as sent: an ID "a/b" shows as "a%2Fb".
	Method string
	Path   string
	// RequestID is the server's request ID header (X-Request-Id), when sent.
	RequestID string
	// Attempts is how many times the request was sent, retries included.
	Attempts int
}

// Error reads "GET /api/v1/api_token: 404 not_found: token not found".
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Method != "" || e.Path != "" {
		b.WriteString(strings.TrimSpace(e.Method + " " + e.Path))
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(string(e.Code))
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Is reports whether target is ErrNotFound and the error's Code is
// CodeNotFound.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Code == CodeNotFound
}

const (
	// maxErrorBody bounds how much of an error response is read.
	maxErrorBody = 1 << 20
	// maxSnippet bounds Message when the body is not the API's error JSON.
	maxSnippet = 200
)

// errorBody is the API's error JSON.
type errorBody struct {
	Status  string          `json:"status"`
	Code    ErrorCode       `json:"code"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors"`
}

// newAPIError is the package-level newAPIError with the bearer token removed
// from everything the server sent: a server or proxy that echoes the
// Authorization header into its message must not put the token into an
// error string.
func (c *Client) newAPIError(resp *http.Response, attempts int) *APIError {
	e := newAPIError(resp)
	e.Attempts = attempts
	secret := c.token.Reveal()
	e.Message = scrub(e.Message, secret)
	e.RequestID = scrub(e.RequestID, secret)
	e.Code = ErrorCode(scrub(string(e.Code), secret))
	if e.Errors != nil {
		e.Errors = scrubValue(e.Errors, secret).(map[string]any)
	}
	return e
}

// minScrubLen is the shortest secret scrub looks for. Shorter ones are not
// real tokens, and replacing, say, every "t" would wreck the message.
const minScrubLen = 8

// scrub replaces every occurrence of secret in s with a redaction mark.
func scrub(s, secret string) string {
	if len(secret) < minScrubLen || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}

// scrubValue scrubs the strings, keys included, of a decoded JSON value.
func scrubValue(v any, secret string) any {
	switch v := v.(type) {
	case string:
		return scrub(v, secret)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = scrubValue(x, secret)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[scrub(k, secret)] = scrubValue(x, secret)
		}
		return out
	}
	return v
}

// scrubError returns err, or, when its message contains secret, an error
// with the secret replaced in the message that still unwraps to err, so
// errors.Is and errors.As work as before. Errors from the standard library
// may quote what a server sent (a malformed status line, a bad date), and a
// server may send anything.
func scrubError(err error, secret string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := scrub(msg, secret)
	if clean == msg {
		return err
	}
	e := &scrubbedError{msg: clean, err: err}
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		e.urlErr = &url.Error{Op: ue.Op, URL: scrub(ue.URL, secret), Err: scrubError(ue.Err, secret)}
	}
	return e
}

// scrubbedError has a cleaned message. It answers errors.Is for the whole
// original chain, and errors.As for *url.Error with a scrubbed copy, but
// never hands out an error whose text holds the secret.
type scrubbedError struct {
	msg    string
	err    error      // the original; never returned
	urlErr *url.Error // scrubbed copy of the chain's *url.Error, if any
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *scrubbedError) As(target any) bool {
	if p, ok := target.(**url.Error); ok && e.urlErr != nil {
		*p = e.urlErr
		return true
	}
	return false
}

// newAPIError reads at most maxErrorBody bytes of resp's body and turns the
// response into an *APIError. It does not close the body.
func newAPIError(resp *http.Response) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		if resp.Request.URL != nil {
			e.Path = resp.Request.URL.EscapedPath()
		}
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Code != "" || eb.Status == "error") {
		e.Code, e.Message = eb.Code, eb.Message
		_ = json.Unmarshal(eb.Errors, &e.Errors) // an object, or Errors stays nil
		return e
	}
	e.Message = snippet(body)
	return e
}

// snippet returns at most maxSnippet bytes of body as one trimmed line, cut
// on a rune boundary.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body[:min(len(body), 4*maxSnippet)]), "")), " ")
	if len(s) <= maxSnippet {
		return s
	}
	cut := maxSnippet
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}
