package prefactor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

func TestAPIErrorFieldErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		errors string // the "errors" JSON as sent; "" for none
		want   map[string][]string
	}{
		{name: "none"},
		{name: "null", errors: `null`},
		{name: "empty object", errors: `{}`},
		{name: "only nulls and empty objects", errors: `{"a":null,"b":{}}`},
		{name: "lone message", errors: `{"a":"msg"}`, want: map[string][]string{"a": {"msg"}}},
		{name: "list of messages", errors: `{"a":["x","y"]}`, want: map[string][]string{"a": {"x", "y"}}},
		{
			name:   "nested object",
			errors: `{"details":{"expires_at":["bad"]}}`,
			want:   map[string][]string{"details.expires_at": {"bad"}},
		},
		{
			name:   "deeper nesting",
			errors: `{"details":{"agent":{"id":["unknown"],"environment":{"id":"missing"}}},"token_scope":["required"]}`,
			want: map[string][]string{
				"details.agent.id":             {"unknown"},
				"details.agent.environment.id": {"missing"},
				"token_scope":                  {"required"},
			},
		},
		{
			name:   "numbers and booleans as JSON text",
			errors: `{"n":3,"f":1.5,"b":true,"list":[1,false,"x"],"o":{"max":64}}`,
			want: map[string][]string{
				"n":     {"3"},
				"f":     {"1.5"},
				"b":     {"true"},
				"list":  {"1", "false", "x"},
				"o.max": {"64"},
			},
		},
		{
			name:   "array of objects",
			errors: `{"items":[{"id":["bad"]},{"id":"worse","name":"missing"}]}`,
			want:   map[string][]string{"items.id": {"bad", "worse"}, "items.name": {"missing"}},
		},
		{
			// The variant the API documents for code validation_errors.
			name:   "validation_errors",
			errors: `{"name":["can't be blank","is too short"],"details":{"expires_at":["must be in the future"]}}`,
			want: map[string][]string{
				"name":               {"can't be blank", "is too short"},
				"details.expires_at": {"must be in the future"},
			},
		},
	} {
		e := &prefactor.APIError{StatusCode: 422}
		if tc.errors != "" {
			if err := json.Unmarshal([]byte(tc.errors), &e.Errors); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		got := e.FieldErrors()
		if tc.want == nil {
			if got != nil {
				t.Errorf("%s: FieldErrors() = %#v, want nil", tc.name, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: FieldErrors() = %#v\nwant %#v", tc.name, got, tc.want)
		}
	}
}

// TestFieldErrorsLinearAndSorted: an errors object nested 9,000 levels
// deep, within the 64 KiB the SDK decodes, flattens in time and memory
// linear in its size; and keys that flatten to the same name list their
// messages in one order, every time.
func TestFieldErrorsLinearAndSorted(t *testing.T) {
	const depth = 9000
	deep := strings.Repeat(`{"a":`, depth) + `"m"` + strings.Repeat(`}`, depth)
	e := &prefactor.APIError{}
	if err := json.Unmarshal([]byte(deep), &e.Errors); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fields := e.FieldErrors()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("flattening %d bytes allocated %d MiB; want at most 4", len(deep), alloc>>20)
	}
	if len(fields) != 1 {
		t.Fatalf("%d keys; want 1", len(fields))
	}
	for k, v := range fields {
		if strings.Count(k, ".") != prefactor.MaxFieldDepth-1 || len(v) != 1 || !strings.HasPrefix(v[0], `{"a":{"a":`) {
			t.Errorf("key %q (%d levels), messages %.40q; want %d levels and the rest as JSON", k[:min(len(k), 40)], strings.Count(k, ".")+1, v, prefactor.MaxFieldDepth)
		}
	}

	e = &prefactor.APIError{}
	if err := json.Unmarshal([]byte(`{"a.b":["x"],"a":{"b":["y"],"c":"z"},"b":[1,true,null,{"d":"w"}]}`), &e.Errors); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a.b": {"y", "x"}, "a.c": {"z"}, "b": {"1", "true", "null"}, "b.d": {"w"}}
	for range 200 {
		if got := e.FieldErrors(); !reflect.DeepEqual(got, want) {
			t.Fatalf("FieldErrors = %q; want %q", got, want)
		}
	}
}

// The validation_errors answer, through a call: Code, Errors and
// FieldErrors as the server sent them.
func TestValidationErrorsFromServer(t *testing.T) {
	srv := prefactortest.NewServer(t)
	srv.FailNext(1, prefactortest.Fault{
		Status: http.StatusUnprocessableEntity,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"status":"error","code":"validation_errors","message":"Validation failed",` +
			`"errors":{"token_scope":["is invalid"],"details":{"expires_at":["must be in the future"]}}}`,
	})
	_, err := srv.Client().APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
	var apiErr *prefactor.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Create: %v, want an *APIError", err)
	}
	if apiErr.Code != prefactor.CodeValidationErrors || apiErr.Message != "Validation failed" || apiErr.Attempts != 1 {
		t.Errorf("APIError %+v: want code validation_errors, its message, one attempt", apiErr)
	}
	want := map[string][]string{"token_scope": {"is invalid"}, "details.expires_at": {"must be in the future"}}
	if got := apiErr.FieldErrors(); !reflect.DeepEqual(got, want) {
		t.Errorf("FieldErrors() = %#v, want %#v", got, want)
	}
}

// What one error keeps is bounded: Message from the API's JSON is cut to
// 4 KiB, and an errors object over 64 KiB is not decoded.
func TestAPIErrorBoundsMessageAndFieldErrors(t *testing.T) {
	asJSON := http.Header{"Content-Type": {"application/json"}}
	huge := `{"status":"error","code":"validation_errors","message":"` + strings.Repeat("x", 100<<10) +
		`","errors":{"f":[` + strings.Repeat("{},", 30000) + `{}]}}`
	srv := prefactortest.NewServer(t)
	c := srv.Client(prefactor.WithMaxRetries(0))
	srv.FailNext(1, prefactortest.Fault{Status: http.StatusUnprocessableEntity, Body: huge, Header: asJSON})
	_, err := c.APITokens.Get(context.Background(), "tok_1")
	e := prefactor.AsAPIError(t, err)
	if e.Code != prefactor.CodeValidationErrors || len(e.Message) > prefactor.MaxMessage || e.Errors != nil {
		t.Errorf("code %q, message of %d bytes, errors %v; want the code, at most %d bytes, no errors decoded", e.Code, len(e.Message), e.Errors != nil, prefactor.MaxMessage)
	}
	small := `{"status":"error","code":"validation_errors","message":"m","errors":{"details":{"expires_at":["in the past"]}}}`
	srv.FailNext(1, prefactortest.Fault{Status: http.StatusUnprocessableEntity, Body: small, Header: asJSON})
	_, err = c.APITokens.Get(context.Background(), "tok_1")
	if got := prefactor.AsAPIError(t, err).FieldErrors()["details.expires_at"]; len(got) != 1 || got[0] != "in the past" {
		t.Errorf("field errors %v; want the one message", got)
	}
}

func TestErrRateLimitedAndErrNotFound(t *testing.T) {
	rateLimited := &prefactor.APIError{StatusCode: http.StatusTooManyRequests, Code: "rate_limited"}
	for _, tc := range []struct {
		name              string
		err               error
		limited, notFound bool
	}{
		{"429", &prefactor.APIError{StatusCode: 429}, true, false},
		{"429 with a code", rateLimited, true, false},
		{"429 wrapped twice", fmt.Errorf("outer: %w", fmt.Errorf("prefactor: list API tokens: %w", rateLimited)), true, false},
		{"429 beside another error", errors.Join(errors.New("other"), rateLimited), true, false},
		{"429 with code not_found", &prefactor.APIError{StatusCode: 429, Code: prefactor.CodeNotFound}, true, true},
		{"503", &prefactor.APIError{StatusCode: 503, Code: prefactor.CodeUnexpected}, false, false},
		{"500", &prefactor.APIError{StatusCode: 500}, false, false},
		{"404 not_found", &prefactor.APIError{StatusCode: 404, Code: prefactor.CodeNotFound}, false, true},
		{"404 not_found wrapped", fmt.Errorf("x: %w", &prefactor.APIError{StatusCode: 404, Code: prefactor.CodeNotFound}), false, true},
		{"404 without the code", &prefactor.APIError{StatusCode: 404}, false, false},
		{"not an APIError", errors.New("429 Too Many Requests"), false, false},
	} {
		if got := errors.Is(tc.err, prefactor.ErrRateLimited); got != tc.limited {
			t.Errorf("%s: errors.Is(ErrRateLimited) = %v, want %v", tc.name, got, tc.limited)
		}
		if got := errors.Is(tc.err, prefactor.ErrNotFound); got != tc.notFound {
			t.Errorf("%s: errors.Is(ErrNotFound) = %v, want %v", tc.name, got, tc.notFound)
		}
	}
}

// Every way a call ends in a 429 matches ErrRateLimited: retries used up,
// no retries, a Retry-After over the limit. A 503 does not, a 404 is
// ErrNotFound.
func TestErrRateLimitedFromServer(t *testing.T) {
	ctx := context.Background()
	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(3)...)
	zero := http.Header{"Retry-After": {"0"}}

	srv.FailNext(2, prefactortest.Fault{Status: http.StatusTooManyRequests, Header: zero})
	_, err := srv.Client(prefactor.WithMaxRetries(1)).APITokens.List(ctx, nil)
	if !errors.Is(err, prefactor.ErrRateLimited) || errors.Is(err, prefactor.ErrNotFound) {
		t.Errorf("429 after retries: %v; want ErrRateLimited only", err)
	}

	srv.FailNext(1, prefactortest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Hour})
	_, err = srv.Client().APITokens.Get(ctx, "tok_x")
	var apiErr *prefactor.APIError
	if !errors.Is(err, prefactor.ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.RetryAfter != 2*time.Hour || apiErr.Attempts != 1 {
		t.Errorf("429 over the Retry-After limit: %v; want ErrRateLimited at once with RetryAfter 2h", err)
	}

	srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Header: zero})
	_, err = srv.Client(prefactor.WithMaxRetries(0)).APITokens.List(ctx, nil)
	if err == nil || errors.Is(err, prefactor.ErrRateLimited) {
		t.Errorf("503: %v; want an error that is not ErrRateLimited", err)
	}

	_, err = srv.Client().APITokens.Get(ctx, "no_such_token")
	if !errors.Is(err, prefactor.ErrNotFound) || errors.Is(err, prefactor.ErrRateLimited) {
		t.Errorf("unknown ID: %v; want ErrNotFound only", err)
	}
}
