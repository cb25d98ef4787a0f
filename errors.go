package prefactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
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
	// Attempts is how many attempts the retry loop made, the first
	// included. A parallel walk may also have sent the request again after
	// 429s its own eagerness drew; those are not counted.
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
// booleans, and objects nested deeper than 16 levels) their JSON text. Keys
// are visited in sorted order, so keys that flatten to the same name
// ({"a.b": …} and {"a": {"b": …}}) list their messages in the same order
// every time. It returns nil when the server sent none.
func (e *APIError) FieldErrors() map[string][]string {
	if len(e.Errors) == 0 {
		return nil
	}
	f := fieldFlattener{out: make(map[string][]string)}
	f.flatten(e.Errors)
	if len(f.out) == 0 {
		return nil
	}
	return f.out
}

// fieldFlattener flattens an errors object. path holds the keys from the
// top to the value at hand; a key is joined only where a message is
// added, and at most maxFieldDepth keys deep, so the work stays linear in
// the size of the object.
type fieldFlattener struct {
	out  map[string][]string
	path []string
}

func (f *fieldFlattener) flatten(v any) {
	switch v := v.(type) {
	case map[string]any:
		if len(f.path) >= maxFieldDepth {
			f.add(fieldMessage(v))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			f.path = append(f.path, k)
			f.flatten(v[k])
			f.path = f.path[:len(f.path)-1]
		}
	case []any:
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				f.flatten(m)
				continue
			}
			f.add(fieldMessage(x))
		}
	case nil:
	default:
		f.add(fieldMessage(v))
	}
}

func (f *fieldFlattener) add(msg string) {
	key := strings.Join(f.path, ".")
	f.out[key] = append(f.out[key], msg)
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
