package prefactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
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
	// CodeValidationErrors comes with per-field messages in
	// [APIError.Errors]; [APIError.FieldErrors] reads them.
	CodeValidationErrors ErrorCode = "validation_errors"
)

// ErrNotFound matches, through errors.Is, every *APIError whose Code is
// CodeNotFound.
var ErrNotFound = errors.New("not found")

// ErrRateLimited matches, through errors.Is, every *APIError with status
// 429 Too Many Requests: the server's rate limit held after the SDK's
// retries, or asked for a wait over [WithRetryAfterLimit]
// ([APIError.RetryAfter] says how long).
var ErrRateLimited = errors.New("rate limited")

// ErrInvalidArgument matches, through errors.Is, every error the SDK returns
// for bad input before it sends anything: options out of range, an empty
// token, an unusable base URL.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrPaginationStalled matches, through errors.Is, the error an iterator
// yields when the server's pages stop making progress: a next_page_offset
// that does not move past the offset just requested, or a run of empty
// pages that still name a next page. The iterator stops there instead of
// looping.
var ErrPaginationStalled = errors.New("server pagination does not advance")

// ErrResponseTooLarge matches, through errors.Is, the error for a success
// response larger than the SDK accepts: a body over 16 MiB, or a page of
// more than 1,000 items (the API sends at most 100). No real response comes
// near either; the call is not retried.
var ErrResponseTooLarge = errors.New("response too large")

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
	// Errors holds the API's per-field errors as sent, when it sent an
	// object; FieldErrors flattens them.
	Errors map[string]any
	// RetryAfter is the wait the server asked for in its Retry-After header,
	// 0 when it sent none.
	RetryAfter time.Duration
	// Method and Path name the request: "GET", "/api/v1/api_token". Path is
	// in escaped form, as sent (an ID "a/b" shows as "a%2Fb"), and cut to
	// 256 bytes.
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
// CodeNotFound, or target is ErrRateLimited and the status is 429.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == CodeNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// FieldErrors returns the per-field messages of [APIError.Errors] as one
// flat map: a nested object's keys are joined with "." ("details.expires_at"),
// a lone message becomes a one-element slice, and other values (numbers,
// booleans) their JSON text. It returns nil when the server sent none.
func (e *APIError) FieldErrors() map[string][]string {
	if len(e.Errors) == 0 {
		return nil
	}
	out := make(map[string][]string)
	flattenFieldErrors(out, "", e.Errors)
	if len(out) == 0 {
		return nil
	}
	return out
}

func flattenFieldErrors(out map[string][]string, prefix string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if prefix != "" {
				k = prefix + "." + k
			}
			flattenFieldErrors(out, k, x)
		}
	case []any:
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				flattenFieldErrors(out, prefix, m)
				continue
			}
			out[prefix] = append(out[prefix], fieldMessage(x))
		}
	case nil:
	default:
		out[prefix] = append(out[prefix], fieldMessage(v))
	}
}

// fieldMessage is a field error's text: a string as sent, anything else as
// JSON.
func fieldMessage(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

const (
	// maxErrorBody bounds how much of an error response is read.
	maxErrorBody = 1 << 20
	// maxSnippet bounds Message when the body is not the API's error JSON.
	maxSnippet = 200
	// maxShown bounds what an error quotes of a path or URL, which a
	// caller's ID could make as long as it likes.
	maxShown = 256
	// maxMessage bounds Message from the API's error JSON.
	maxMessage = 4 << 10
	// maxFieldErrors bounds the errors object decoded into Errors: decoded
	// into maps, JSON costs many times its size.
	maxFieldErrors = 64 << 10
)

// errorBody is the API's error JSON.
type errorBody struct {
	Status  string          `json:"status"`
	Code    ErrorCode       `json:"code"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors"`
}

// newAPIError is the one place an *APIError is made: from a response outside
// 2xx and the body read from it (at most maxErrorBody bytes). Everything the
// server sent is scrubbed of secret first, before it is decoded or cut, so
// neither an escape nor a cut can hide the token from the scrub.
func newAPIError(resp *http.Response, body []byte, attempts int, secret string) *APIError {
	clean := scrub(string(body), secret)
	e := &APIError{
		StatusCode: resp.StatusCode,
		RequestID:  shorten(resp.Header.Get("X-Request-Id"), maxShown, secret),
		Attempts:   attempts,
	}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		if resp.Request.URL != nil {
			e.Path = shorten(resp.Request.URL.EscapedPath(), maxShown, secret)
		}
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	var eb errorBody
	if json.Unmarshal([]byte(clean), &eb) == nil && (eb.Code != "" || eb.Status == "error") {
		// Decoding undoes escapes, which may have spelled the secret in a
		// way the scrub of the raw body did not see (an escaped "&#43;"):
		// what was decoded is scrubbed again.
		e.Code = ErrorCode(shorten(string(eb.Code), maxShown, secret))
		e.Message = shorten(eb.Message, maxMessage, secret)
		if len(eb.Errors) <= maxFieldErrors {
			var fields map[string]any
			if json.Unmarshal(eb.Errors, &fields) == nil && fields != nil { // an object, or Errors stays nil
				e.Errors = scrubValue(fields, secret).(map[string]any)
			}
		}
		return e
	}
	e.Message = shorten(strings.Join(strings.Fields(strings.ToValidUTF8(clean, "\uFFFD")), " "), maxSnippet, secret)
	return e
}

// shorten returns s scrubbed of secret and cut, on a rune boundary, to at
// most max bytes. A cut never leaves the start of the secret at the end.
func shorten(s string, max int, secret string) string {
	// A spelling of the secret that starts within max bytes ends within
	// max + maxSpelling·len(secret): what lies beyond cannot matter, and
	// scrubbing it would cost time a long header could make large.
	if limit := max + maxSpelling*len(secret); len(s) > limit {
		s = s[:limit]
	}
	s = scrub(s, secret)
	if len(s) <= max {
		// Trimmed even uncut: what arrived may itself have been cut
		// through the secret (an error body read up to its limit).
		return trimSecretPrefix(s, secret)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return trimSecretPrefix(strings.TrimSpace(s[:cut]), secret)
}

// maxSpelling is the longest spelling of one byte scrub recognises
// ("&#x002F;" is 8 bytes; "&#00047;" 8).
const maxSpelling = 10

// scrubValue scrubs the strings, keys included, of a decoded JSON value.
func scrubValue(v any, secret string) any {
	switch v := v.(type) {
	case string:
		return scrub(v, secret)
	case []any:
		for i, x := range v {
			v[i] = scrubValue(x, secret)
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[scrub(k, secret)] = scrubValue(x, secret)
		}
		return out
	}
	return v
}

// minScrubLen is the shortest secret scrub looks for. Shorter ones are not
// real tokens, and replacing, say, every "t" would wreck the message.
const minScrubLen = 8

// scrub replaces every spelling of secret in s with a redaction mark: as is,
// JSON-escaped (\/, \u002b, any character as \u00XX), percent-encoded
// (url.QueryEscape, url.PathEscape, any character as %XX) and as HTML
// character references (&#43;, &#x2F;), each character in any of these
// forms. These are the ways a server, a proxy or net/http itself may quote
// a bearer token back; NewClient admits only tokens of RFC 6750's alphabet,
// which none of them changes further.
func scrub(s, secret string) string {
	if len(secret) < minScrubLen {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != secret[0] && c != '\\' && c != '%' && c != '&' {
			continue
		}
		if end := matchSecret(s, i, secret); end > 0 {
			b.WriteString(s[last:i])
			b.WriteString(redacted)
			last, i = end, end-1
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// matchSecret reports where a spelling of secret that starts at s[i] ends,
// or -1.
func matchSecret(s string, i int, secret string) int {
	for k := 0; k < len(secret); k++ {
		n := spelledAs(s[i:], secret[k])
		if n == 0 {
			return -1
		}
		i += n
	}
	return i
}

// spelledAs reports how many bytes at the start of s spell the byte c, or 0.
func spelledAs(s string, c byte) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case c:
		return 1
	case '\\': // JSON: \/ or \u00XX
		if len(s) >= 2 && s[1] == c {
			return 2
		}
		if len(s) >= 6 && (s[1] == 'u') {
			if v, ok := hexValue(s[2:6]); ok && v == int(c) {
				return 6
			}
		}
	case '%': // URL: %XX
		if len(s) >= 3 {
			if v, ok := hexValue(s[1:3]); ok && v == int(c) {
				return 3
			}
		}
	case '&': // HTML: &#NN; or &#xHH;
		end := strings.IndexByte(s[:min(len(s), maxSpelling+1)], ';')
		if end < 3 || end > 10 || s[1] != '#' {
			return 0
		}
		num := s[2:end]
		v, ok := 0, false
		if num[0] == 'x' || num[0] == 'X' {
			v, ok = hexValue(num[1:])
		} else {
			v, ok = decValue(num)
		}
		if ok && v == int(c) {
			return end + 1
		}
	}
	return 0
}

func hexValue(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case for letters
		switch {
		case s[i] >= '0' && s[i] <= '9':
			v = v*16 + int(s[i]-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

func decValue(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// trimSecretPrefix removes from the end of s the start of secret, four
// bytes or more of it: what a cut through the middle of the secret would
// leave.
func trimSecretPrefix(s, secret string) string {
	if len(secret) < minScrubLen {
		return s
	}
	// Again after each cut: what a cut uncovers may be the start of the
	// secret too. Each pass removes four bytes or more.
	for trimmed := true; trimmed; {
		trimmed = false
		for k := min(len(secret)-1, len(s)); k >= minScrubLen/2; k-- {
			if strings.HasSuffix(s, secret[:k]) {
				s, trimmed = s[:len(s)-k], true
				break
			}
		}
	}
	return s
}

// scrubError returns err, or, when its message holds a spelling of secret,
// an error with a cleaned message that still answers errors.Is and
// errors.As (see scrubbedError). Errors from the standard library may quote
// what a server sent (a malformed status line), and a URL may hold a
// caller's ID.
func scrubError(err error, secret string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := scrub(msg, secret)
	if clean == msg {
		return err
	}
	s := Secret(secret)
	return &scrubbedError{msg: clean, err: err, secret: &s}
}

// scrubbedError has a cleaned message. It answers errors.Is for the whole
// original chain. errors.As finds any error of the chain whose own text is
// clean; of one whose text holds the secret it hands out a scrubbed copy
// for the wrappers a transport error comes in (*url.Error, *net.OpError),
// and nothing for other types. It never hands out the secret, and so it
// does not unwrap.
type scrubbedError struct {
	msg    string
	err    error   // the original; never returned
	secret *Secret // behind a pointer, so that no fmt verb prints it
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

func (e *scrubbedError) As(target any) bool {
	if !errors.As(e.err, target) {
		return false
	}
	dst := reflect.ValueOf(target).Elem()
	found, _ := dst.Interface().(error)
	secret := e.secret.Reveal()
	if found == nil || scrub(found.Error(), secret) == found.Error() {
		return true
	}
	var clean error
	switch f := found.(type) {
	case *url.Error:
		clean = &url.Error{Op: f.Op, URL: scrub(f.URL, secret), Err: scrubError(f.Err, secret)}
	case *net.OpError:
		c := *f
		c.Err = scrubError(f.Err, secret)
		clean = &c
	}
	// A copy can still hold the secret where it was not rebuilt (a
	// *net.OpError's address): that one is not handed out either.
	if clean == nil || scrub(clean.Error(), secret) != clean.Error() || !reflect.TypeOf(clean).AssignableTo(dst.Type()) {
		dst.SetZero()
		return false
	}
	dst.Set(reflect.ValueOf(clean))
	return true
}
