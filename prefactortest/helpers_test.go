package prefactortest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// listPath is the list endpoint.
const listPath = "/api/v1/api_token"

// answer is a raw HTTP answer of the fake.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET listPath?rawQuery to srv with the Authorization header auth
// ("" sends none) and returns the raw answer.
func get(t *testing.T, srv *prefactortest.Server, rawQuery, auth string) answer {
	t.Helper()
	return send(t, srv, http.MethodGet, listPath+"?"+rawQuery, auth)
}

func send(t *testing.T, srv *prefactortest.Server, method, target, auth string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL()+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// respondTo hands method target, on the API's default host and with the
// Authorization header auth ("" sends none), to respond as an httpmock
// transport would, and returns the raw answer. It fails the test when the
// responder errs or its response does not point at the request.
func respondTo(t *testing.T, respond httpmock.Responder, method, target, auth string) answer {
	t.Helper()
	req, err := http.NewRequest(method, "https://app.prefactorai.com"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := respond(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request != req {
		t.Errorf("%s %s: the response does not point at its request", method, target)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// checkSameAnswer checks that a responder's answer to what is the
// server's: the same status, content type and body.
func checkSameAnswer(t *testing.T, what string, got, want answer) {
	t.Helper()
	if got.status != want.status || !bytes.Equal(got.body, want.body) || got.header.Get("Content-Type") != want.header.Get("Content-Type") {
		t.Errorf("%s: responder gave %d %s\nserver gave %d %s", what, got.status, got.body, want.status, want.body)
	}
}

// waitLimit bounds every wait of these tests for something that should
// happen at once, so that a bug fails the test instead of hanging it.
const waitLimit = 10 * time.Second

// getInBackground sends GET listPath to srv from a goroutine, without an
// Authorization header, and returns a channel that receives the answer's
// status, or 0 when the request fails.
func getInBackground(srv *prefactortest.Server) <-chan int {
	status := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL() + listPath)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	return status
}

// awaitRequest waits until srv has recorded a request. It fails the test
// if the request sent in the background ends first (it never reached the
// server) or nothing arrives within waitLimit.
func awaitRequest(t *testing.T, srv *prefactortest.Server, status <-chan int) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for len(srv.Requests()) == 0 {
		select {
		case got := <-status:
			t.Fatalf("the request ended (status %d) before the server recorded it", got)
		case <-deadline.C:
			t.Fatalf("no request reached the server within %s", waitLimit)
		default:
			runtime.Gosched()
		}
	}
}

// awaitStatus returns the status the request sent in the background got,
// failing the test if it takes longer than waitLimit.
func awaitStatus(t *testing.T, status <-chan int) int {
	t.Helper()
	select {
	case got := <-status:
		return got
	case <-time.After(waitLimit):
		t.Fatalf("no answer within %s", waitLimit)
		return 0
	}
}

// bearer is the Authorization header the fake accepts.
const bearer = "Bearer " + prefactortest.Token

// wireList is the list success JSON, decoded strictly enough to tell null
// from absent.
type wireList struct {
	Status     string                     `json:"status"`
	Summaries  []prefactor.APIToken       `json:"summaries"`
	Pagination map[string]json.RawMessage `json:"pagination"`
	Sorting    json.RawMessage            `json:"sorting"`

	page prefactor.Pagination       // Pagination decoded
	all  map[string]json.RawMessage // every top-level key
}

// wireError is the API's error JSON.
type wireError struct {
	Status  string              `json:"status"`
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// decodeAnswer checks a's status and JSON content type, decodes its body
// into v and returns every top-level key of the body.
func decodeAnswer(t *testing.T, a answer, status int, v any) map[string]json.RawMessage {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &all); err != nil {
		t.Fatal(err)
	}
	return all
}

// decodeList decodes a 200 list answer and checks its envelope.
func decodeList(t *testing.T, a answer) wireList {
	t.Helper()
	var l wireList
	l.all = decodeAnswer(t, a, http.StatusOK, &l)
	for _, k := range []string{"status", "summaries", "pagination", "sorting"} {
		if _, ok := l.all[k]; !ok {
			t.Errorf("body has no %q: %s", k, a.body)
		}
	}
	if l.Status != "success" {
		t.Errorf("status %q, want success", l.Status)
	}
	if l.Summaries == nil {
		t.Errorf("summaries is null or missing: %s", a.body)
	}
	raw, _ := json.Marshal(l.Pagination)
	if err := json.Unmarshal(raw, &l.page); err != nil {
		t.Fatal(err)
	}
	return l
}

// decodeError decodes an error answer with the given status.
func decodeError(t *testing.T, a answer, status int) wireError {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	var e wireError
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
	if e.Status != "error" || e.Code == "" || e.Message == "" {
		t.Errorf("error body %s lacks status, code or message", a.body)
	}
	return e
}

// apiError returns the *APIError in err, failing the test if there is none.
func apiError(t *testing.T, err error) *prefactor.APIError {
	t.Helper()
	var e *prefactor.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return e
}

// checkDetailsError checks that err is the API's 422 validation_errors
// answer whose errors hold, under "details", field with the one message
// msg.
func checkDetailsError(t *testing.T, err error, field, msg string) {
	t.Helper()
	e := apiError(t, err)
	if e.StatusCode != http.StatusUnprocessableEntity || e.Code != prefactor.CodeValidationErrors ||
		!reflect.DeepEqual(e.FieldErrors()["details."+field], []string{msg}) {
		t.Errorf("got %+v, want 422 validation_errors with details.%s %q", e, field, msg)
	}
}

// ids returns the tokens' IDs.
func ids[T prefactor.APIToken | *prefactor.APIToken](tokens []T) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		switch v := any(t).(type) {
		case prefactor.APIToken:
			out[i] = v.ID
		case *prefactor.APIToken:
			out[i] = v.ID
		}
	}
	return out
}

// callersTokens returns the tokens of the list a request without account_id
// gets: those of prefactortest.AccountID and those without an account, in
// the order given.
func callersTokens(tokens []prefactor.APIToken) []prefactor.APIToken {
	var out []prefactor.APIToken
	for _, t := range tokens {
		if t.AccountID == prefactortest.AccountID || t.AccountID == "" {
			out = append(out, t)
		}
	}
	return out
}

// collect ranges over all tokens and returns them, or the first error.
func collect(ctx context.Context, c *prefactor.Client, opts *prefactor.ListAPITokensOptions) ([]*prefactor.APIToken, error) {
	var out []*prefactor.APIToken
	for tok, err := range c.APITokens.All(ctx, opts) {
		if err != nil {
			return out, err
		}
		out = append(out, tok)
	}
	return out, nil
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
