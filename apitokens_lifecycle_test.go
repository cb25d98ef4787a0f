package prefactor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// The lifecycle tests run against the fake API, which holds tok_1 and
// applies the service's lifecycle rules to it. A client of the fake keeps
// the body of the last answer it received, so that a test can compare what
// the SDK returns with what the server sent (a created token's value, say).

// maxKeyLen is the longest idempotency key the API takes, in characters.
const maxKeyLen = 64

// lcFake is the fake, a client of it and the body of the last answer.
type lcFake struct {
	srv *prefactortest.Server
	c   *prefactor.Client
	tap *bodyTap
}

// newLCFake starts the fake holding tok_1 in status st, or no token when st
// is "", and a client of it that retries 3 times.
func newLCFake(t *testing.T, st prefactor.TokenStatus) *lcFake {
	t.Helper()
	srv := prefactortest.NewServer(t)
	if st != "" {
		srv.AddTokens(prefactor.APIToken{
			ID: "tok_1", Type: "api_token", AccountID: prefactortest.AccountID,
			Status: st, TokenScope: prefactor.TokenScopeAgentDeployment,
			AgentID: ptr("agent_1"), EnvironmentID: ptr("env_1"), AgentDeploymentID: ptr("dep_1"),
			ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	tap := &bodyTap{base: tr}
	c := srv.Client(prefactor.WithHTTPClient(&http.Client{Transport: tap}), prefactor.WithMaxRetries(3))
	return &lcFake{srv: srv, c: c, tap: tap}
}

// bodyTap is a transport that keeps the body of the last response.
type bodyTap struct {
	base http.RoundTripper
	mu   sync.Mutex
	last []byte
}

func (b *bodyTap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.last = body
	b.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// lookup returns the string at name in the last answer's JSON object, or
// an error saying it has none.
func (b *bodyTap) lookup(name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var m map[string]json.RawMessage
	var s string
	if err := json.Unmarshal(b.last, &m); err != nil || json.Unmarshal(m[name], &s) != nil || s == "" {
		return "", fmt.Errorf("no %q in the last answer %s (err %v)", name, b.last, err)
	}
	return s, nil
}

// field is lookup that fails the test on an error.
func (b *bodyTap) field(t *testing.T, name string) string {
	t.Helper()
	s, err := b.lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyOf returns a request's idempotency key, from its JSON body: every
// mutation, DELETE included, sends it there.
func keyOf(t *testing.T, r prefactortest.Request) string {
	t.Helper()
	var b struct {
		Key *string `json:"idempotency_key"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Key == nil {
		t.Fatalf("%s %s: no idempotency_key in body %q (err %v)", r.Method, r.Path, r.Body, err)
	}
	return *b.Key
}

// lifecycleCalls are the calls of prefactor.EveryCall that take part in
// the token lifecycle: those on one token, and Create.
func lifecycleCalls() []prefactor.APICall {
	var calls []prefactor.APICall
	for _, tc := range prefactor.EveryCall {
		if tc.From != "" {
			calls = append(calls, tc)
		}
	}
	return calls
}

// tokenOf returns the token a call returned; nil for none.
func tokenOf(got any) *prefactor.APIToken {
	switch v := got.(type) {
	case *prefactor.APIToken:
		return v
	case *prefactor.CreatedAPIToken:
		if v != nil {
			return &v.APIToken
		}
	}
	return nil
}

// wantServersValue fails the test unless a Create's result holds the
// token value the server sent; other results pass.
func wantServersValue(t *testing.T, f *lcFake, got any) {
	t.Helper()
	created, ok := got.(*prefactor.CreatedAPIToken)
	if !ok {
		return
	}
	if want, err := f.tap.lookup("token"); err != nil || created.Token.Reveal() != want {
		t.Errorf("token value %q, want the server's %q (%v)", created.Token.Reveal(), want, err)
	}
}

// wantStore fails the test unless the fake holds tok_1 in status want
// ("" for gone) and, when created, one more token.
func wantStore(t *testing.T, f *lcFake, want prefactor.TokenStatus, created int) {
	t.Helper()
	toks := f.srv.Tokens()
	got := prefactor.TokenStatus("")
	for _, tok := range toks {
		if tok.ID == "tok_1" {
			got = tok.Status
		}
	}
	wantLen := created
	if want != "" {
		wantLen++
	}
	if got != want || len(toks) != wantLen {
		t.Errorf("store holds tok_1 %q and %d tokens, want %q and %d", got, len(toks), want, wantLen)
	}
}

// storeAfter is what the store holds after tc succeeded: tok_1's status
// and how many tokens were created.
func storeAfter(tc prefactor.APICall) (prefactor.TokenStatus, int) {
	if tc.Name == "Create" {
		return tc.From, 1
	}
	return tc.To, 0
}

func TestAPITokenCallsSuccess(t *testing.T) {
	for _, tc := range lifecycleCalls() {
		t.Run(tc.Name, func(t *testing.T) {
			f := newLCFake(t, tc.From)
			got, err := tc.Call(context.Background(), f.c, "tok_1")
			if err != nil {
				t.Fatalf("%s: %v", tc.Name, err)
			}
			wantServersValue(t, f, got)
			tok := tokenOf(got)
			seen := f.srv.Requests()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			r := seen[0]
			if path := tc.PathFor("tok_1"); r.Method != tc.Method || r.Path != path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tc.Method, path)
			}
			if r.RawQuery != "" {
				t.Errorf("%s sent query %q, want none", r.Method, r.RawQuery)
			}
			mutation := tc.Method != http.MethodGet
			if !mutation && len(r.Body) != 0 {
				t.Errorf("GET sent body %q, want none", r.Body)
			}
			if ct := r.Header.Get("Content-Type"); mutation && ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if mutation {
				key := keyOf(t, r)
				if key == "" || len(key) > maxKeyLen {
					t.Errorf("generated idempotency key %q: want 1..%d characters", key, maxKeyLen)
				}
				if tc.Name != "Create" {
					if want := `{"idempotency_key":"` + key + `"}`; string(r.Body) != want {
						t.Errorf("body %s, want %s", r.Body, want)
					}
				}
			}
			st, created := storeAfter(tc)
			wantStore(t, f, st, created)

			if tc.Method == http.MethodDelete {
				return
			}
			if tok == nil {
				t.Fatal("nil token")
			}
			wantID := "tok_1"
			if tc.Name == "Create" {
				wantID = f.srv.Tokens()[1].ID
			}
			if tok.ID != wantID || tok.Status != tc.To || tok.TokenScope != prefactor.TokenScopeAgentDeployment {
				t.Errorf("token %s %s %s, want %s %s agent_deployment", tok.ID, tok.Status, tok.TokenScope, wantID, tc.To)
			}
			if tok.AgentDeploymentID == nil || *tok.AgentDeploymentID != "dep_1" {
				t.Errorf("AgentDeploymentID %v, want dep_1", tok.AgentDeploymentID)
			}
		})
	}
}

func TestAPITokenCallsNotFound(t *testing.T) {
	for _, tc := range lifecycleCalls() {
		if tc.Name == "Create" {
			continue // there is no token to miss
		}
		t.Run(tc.Name, func(t *testing.T) {
			f := newLCFake(t, "")
			got, err := tc.Call(context.Background(), f.c, "tok_1")
			if tok := tokenOf(got); tok != nil {
				t.Errorf("token %+v, want nil", tok)
			}
			if !errors.Is(err, prefactor.ErrNotFound) {
				t.Fatalf("err %v, want one matching ErrNotFound", err)
			}
			apiErr := prefactor.AsAPIError(t, err)
			if apiErr.StatusCode != http.StatusNotFound || apiErr.Code != prefactor.CodeNotFound {
				t.Fatalf("err %#v, want *APIError 404 not_found", err)
			}
			if path := tc.PathFor("tok_1"); apiErr.Method != tc.Method || apiErr.Path != path {
				t.Errorf("APIError names %s %s, want %s %s", apiErr.Method, apiErr.Path, tc.Method, path)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: "+tc.Op+": ") {
				t.Errorf("error %q does not name the operation %q", err, tc.Op)
			}
			noToken(t, "error", err.Error())
			if n := f.srv.RequestCount(); n != 1 {
				t.Errorf("server saw %d requests, want 1 (404 is final)", n)
			}
		})
	}
}

func TestAPITokenCallsRefusedTransition(t *testing.T) {
	for _, tc := range lifecycleCalls() {
		if tc.Refused == "" {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			f := newLCFake(t, tc.Refused)
			_, err := tc.Call(context.Background(), f.c, "tok_1")
			apiErr := prefactor.AsAPIError(t, err)
			if apiErr.Code != prefactor.CodeInvalidAction || apiErr.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("err %v, want *APIError 422 invalid_action", err)
			}
			if want := f.tap.field(t, "message"); apiErr.Message != want {
				t.Errorf("Message %q, want the server's %q", apiErr.Message, want)
			}
			if errors.Is(err, prefactor.ErrNotFound) {
				t.Error("invalid_action matches ErrNotFound")
			}
			if n := f.srv.RequestCount(); n != 1 {
				t.Errorf("server saw %d requests, want 1 (a refusal is final)", n)
			}
			wantStore(t, f, tc.Refused, 0)
		})
	}
}

// A call that fails and is retried sends the same idempotency key, and the
// same body, on every attempt: the generated key and the caller's.
func TestAPITokenCallsRetrySameKey(t *testing.T) {
	for _, tc := range lifecycleCalls() {
		mutation := tc.Method != http.MethodGet
		for _, callerKey := range []string{"", "caller-key-1"} {
			name := tc.Name + "/generated"
			var opts []prefactor.RequestOption
			if callerKey != "" {
				name = tc.Name + "/caller"
				opts = append(opts, prefactor.WithIdempotencyKey(callerKey))
			}
			if !mutation && callerKey != "" {
				continue
			}
			t.Run(name, func(t *testing.T) {
				f := newLCFake(t, tc.From)
				f.srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable, Code: prefactor.CodeUnexpected})
				f.srv.FailNext(1, prefactortest.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"})
				got, err := tc.Call(context.Background(), f.c, "tok_1", opts...)
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				wantServersValue(t, f, got)
				if tok := tokenOf(got); tc.Method != http.MethodDelete && (tok == nil || tok.Status != tc.To) {
					t.Errorf("token %+v, want status %s", tok, tc.To)
				}
				st, created := storeAfter(tc)
				wantStore(t, f, st, created)
				seen := f.srv.Requests()
				if len(seen) != 3 {
					t.Fatalf("server saw %d attempts, want 3", len(seen))
				}
				for i, r := range seen[1:] {
					if r.Method != seen[0].Method || r.Path != seen[0].Path || r.RawQuery != seen[0].RawQuery || !bytes.Equal(r.Body, seen[0].Body) {
						t.Errorf("attempt %d sent %s %s?%s %q, attempt 1 sent %s %s?%s %q", i+2,
							r.Method, r.Path, r.RawQuery, r.Body, seen[0].Method, seen[0].Path, seen[0].RawQuery, seen[0].Body)
					}
				}
				if !mutation {
					return
				}
				want := keyOf(t, seen[0])
				if callerKey != "" && want != callerKey {
					t.Errorf("key %q, want the caller's %q", want, callerKey)
				}
				for i, r := range seen {
					if got := keyOf(t, r); got != want {
						t.Errorf("attempt %d carried key %q, attempt 1 %q", i+1, got, want)
					}
				}
			})
		}
	}
}

// The retry that matters most: the server made the token before the
// connection broke. The second attempt must carry the first one's key so
// the server replays instead of making a second token.
func TestAPITokensCreateRetryAfterHangUpKeepsKey(t *testing.T) {
	f := newLCFake(t, "")
	f.srv.FailNext(1, prefactortest.Fault{Disconnect: true, AfterHandling: true})
	created, err := f.c.APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.tap.field(t, "token"); created.Token.Reveal() != want {
		t.Errorf("token value %q, want the server's %q", created.Token.Reveal(), want)
	}
	if toks := f.srv.Tokens(); len(toks) != 1 || toks[0].ID != created.ID {
		t.Errorf("store holds %d tokens, want the one created (%s): the retry made another", len(toks), created.ID)
	}
	seen := f.srv.Requests()
	if len(seen) != 2 {
		t.Fatalf("server saw %d attempts, want 2", len(seen))
	}
	if k1, k2 := keyOf(t, seen[0]), keyOf(t, seen[1]); k1 != k2 {
		t.Errorf("keys %q and %q differ between attempts", k1, k2)
	}
}

// Two calls get two keys. The fake replays an answer to a key it has seen,
// so the second revoke of tok_1 succeeds only if it shares the first one's
// key; with a fresh key it is refused, the token being revoked already.
func TestAPITokensGeneratedKeysDiffer(t *testing.T) {
	f := newLCFake(t, prefactor.TokenStatusActive)
	if _, err := f.c.APITokens.Revoke(context.Background(), "tok_1"); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.APITokens.Revoke(context.Background(), "tok_1")
	if e := prefactor.AsAPIError(t, err); e.Code != prefactor.CodeInvalidAction {
		t.Errorf("second revoke: %v, want invalid_action: a new key, not a replay", err)
	}
	seen := f.srv.Requests()
	if len(seen) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(seen))
	}
	if k1, k2 := keyOf(t, seen[0]), keyOf(t, seen[1]); k1 == k2 {
		t.Errorf("two calls shared the generated key %q", k1)
	}
}

func TestAPITokensCreateBody(t *testing.T) {
	sydney := time.FixedZone("AEST", 10*60*60)
	expires := time.Date(2031, 2, 3, 14, 5, 6, 789_000_000, sydney)
	zero := time.Time{}
	tests := []struct {
		name    string
		req     prefactor.CreateAPITokenRequest
		want    map[string]any // details
		refused bool           // by the server, which proves it was sent
	}{
		{
			name: "all fields",
			req: prefactor.CreateAPITokenRequest{
				TokenScope: prefactor.TokenScopeAgentDeployment, AccountID: "acc_1", AgentID: "agent_1",
				EnvironmentID: "env_1", ExpiresAt: &expires,
			},
			want: map[string]any{
				"token_scope": "agent_deployment", "account_id": "acc_1", "agent_id": "agent_1",
				"environment_id": "env_1", "expires_at": "2031-02-03T04:05:06Z",
			},
		},
		{
			name: "scope only",
			req:  prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount},
			want: map[string]any{"token_scope": "account"},
		},
		{
			name: "zero expiry omitted",
			req:  prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeEnvironment, EnvironmentID: "env_2", ExpiresAt: &zero},
			want: map[string]any{"token_scope": "environment", "environment_id": "env_2"},
		},
		{
			name:    "past expiry and unknown scope passed on",
			req:     prefactor.CreateAPITokenRequest{TokenScope: "project", ExpiresAt: ptr(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))},
			want:    map[string]any{"token_scope": "project", "expires_at": "2001-01-01T00:00:00Z"},
			refused: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLCFake(t, "")
			f.srv.SetClock(prefactortest.ReferenceTime)
			_, err := f.c.APITokens.Create(context.Background(), &tt.req, prefactor.WithIdempotencyKey("key-1"))
			if !tt.refused && err != nil {
				t.Fatal(err)
			}
			if tt.refused {
				if e := prefactor.AsAPIError(t, err); e.StatusCode != http.StatusBadRequest || e.Code != prefactor.CodeInvalidValue {
					t.Errorf("APIError %d %s, want the server's 400 invalid_value", e.StatusCode, e.Code)
				}
			}
			seen := f.srv.Requests()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			var got map[string]any
			if err := json.Unmarshal(seen[0].Body, &got); err != nil {
				t.Fatalf("body %q: %v", seen[0].Body, err)
			}
			want := map[string]any{"details": tt.want, "idempotency_key": "key-1"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body\n got %v\nwant %v", got, want)
			}
		})
	}
}

// Bad input is reported before anything is sent.
func TestAPITokensInvalidArguments(t *testing.T) {
	ctx := context.Background()
	tooLong := strings.Repeat("k", maxKeyLen+1)
	type test struct {
		name string
		op   string
		call func(f *lcFake) error
		want string // in the error
	}
	create := func(req *prefactor.CreateAPITokenRequest, opts ...prefactor.RequestOption) func(f *lcFake) error {
		return func(f *lcFake) error {
			_, err := f.c.APITokens.Create(ctx, req, opts...)
			return err
		}
	}
	tests := []test{
		{"create nil request", "create API token", create(nil), "nil *CreateAPITokenRequest"},
		{"create no scope", "create API token", create(&prefactor.CreateAPITokenRequest{AccountID: "acc_1"}), "TokenScope is required"},
		{"create agent_deployment without agent", "create API token",
			create(&prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAgentDeployment, EnvironmentID: "env_1"}), "AgentID is required"},
		{"create agent_deployment without environment", "create API token",
			create(&prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAgentDeployment, AgentID: "agent_1"}), "EnvironmentID is required"},
		{"create expiry beyond RFC 3339", "create API token",
			create(&prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount, ExpiresAt: ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))}), "year 10000"},
		{"create key too long", "create API token",
			create(&prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount}, prefactor.WithIdempotencyKey(tooLong)), "65 characters"},
		{"create empty key", "create API token",
			create(&prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount}, prefactor.WithIdempotencyKey("")), "empty key"},
		{"suspend key too long", "suspend API token", func(f *lcFake) error {
			_, err := f.c.APITokens.Suspend(ctx, "tok_1", prefactor.WithIdempotencyKey(tooLong))
			return err
		}, "65 characters"},
		{"delete key too long", "delete API token", func(f *lcFake) error {
			return f.c.APITokens.Delete(ctx, "tok_1", prefactor.WithIdempotencyKey(tooLong))
		}, "65 characters"},
		{"revoke empty key", "revoke API token", func(f *lcFake) error {
			_, err := f.c.APITokens.Revoke(ctx, "tok_1", prefactor.WithIdempotencyKey("ok"), prefactor.WithIdempotencyKey(""))
			return err
		}, "empty key"},
	}
	for _, id := range []string{"", "   ", ".", ".."} {
		for _, tc := range lifecycleCalls() {
			if tc.Name == "Create" {
				continue
			}
			tests = append(tests, test{fmt.Sprintf("%s id %q", tc.Name, id), tc.Op, func(f *lcFake) error {
				_, err := tc.Call(ctx, f.c, id)
				return err
			}, "token ID"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLCFake(t, prefactor.TokenStatusActive)
			err := tt.call(f)
			if !errors.Is(err, prefactor.ErrInvalidArgument) {
				t.Fatalf("err %v, want one matching ErrInvalidArgument", err)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: "+tt.op+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %q and say %q", err, tt.op, tt.want)
			}
			if n := f.srv.RequestCount(); n != 0 {
				t.Errorf("server saw %d requests, want none", n)
			}
		})
	}
}

// A key of exactly 64 characters, counted as characters, not bytes, is
// sent as given; a nil option is ignored.
func TestAPITokensIdempotencyKeyLimit(t *testing.T) {
	key := strings.Repeat("é", maxKeyLen) // 128 bytes
	f := newLCFake(t, prefactor.TokenStatusRevoked)
	if err := f.c.APITokens.Delete(context.Background(), "tok_1", nil, prefactor.WithIdempotencyKey(key)); err != nil {
		t.Fatal(err)
	}
	seen := f.srv.Requests()
	if len(seen) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(seen))
	}
	if got := keyOf(t, seen[0]); got != key {
		t.Errorf("key %q, want %q", got, key)
	}
	wantStore(t, f, "", 0)
}

// Any 2xx answers a delete: the fake's own answer, with the deleted token,
// and others a gateway might send. (Empty 2xx bodies, which a Fault cannot
// send, are in TestEmptyBodies, request_test.go.)
func TestAPITokensDeleteAny2xx(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	for _, fault := range []*prefactortest.Fault{
		nil,
		{Status: http.StatusOK, Body: `{"status":"success"}`, Header: json},
		{Status: http.StatusAccepted, Body: "queued", Header: json},
	} {
		name := "the fake's"
		if fault != nil {
			name = fmt.Sprintf("%d %q", fault.Status, fault.Body)
		}
		t.Run(name, func(t *testing.T) {
			f := newLCFake(t, prefactor.TokenStatusRevoked)
			if fault != nil {
				f.srv.FailNext(1, *fault)
			}
			if err := f.c.APITokens.Delete(context.Background(), "tok_1"); err != nil {
				t.Fatal(err)
			}
			if n := f.srv.RequestCount(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// lcTokenJSON is tok_1 as the API sends it, in status st.
func lcTokenJSON(st prefactor.TokenStatus) string {
	return fmt.Sprintf(`{"id":"tok_1","type":"api_token","account_id":"acc_1",`+
		`"created_by_admin_user_id":null,"environment_id":"env_1","agent_deployment_id":"dep_1",`+
		`"expires_at":"2030-01-01T00:00:00Z","inserted_at":"2024-01-01T00:00:00Z",`+
		`"updated_at":"2024-06-01T00:00:00Z","last_used_at":null,`+
		`"status":%q,"token_scope":"agent_deployment"}`, st)
}

// lcSecretValue is a token value in the malformed answers below.
const lcSecretValue = "pf_live_0123456789abcdefSECRET"

// A 2xx body that lacks what the call returns is an error naming the
// operation, and is not retried. (Empty 2xx bodies, which a Fault cannot
// send, are in TestEmptyBodies, request_test.go.)
func TestAPITokensMalformedSuccess(t *testing.T) {
	get, create, suspend, revoke := prefactor.CallNamed("Get"), prefactor.CallNamed("Create"), prefactor.CallNamed("Suspend"), prefactor.CallNamed("Revoke")
	tests := []struct {
		name string
		call prefactor.APICall
		body string
		want string
	}{
		{"create without token", create, `{"status":"success","details":` + lcTokenJSON(prefactor.TokenStatusActive) + `}`, "no token value"},
		{"create empty token", create, `{"status":"success","details":` + lcTokenJSON(prefactor.TokenStatusActive) + `,"token":""}`, "no token value"},
		{"create without details", create, `{"status":"success","token":"` + lcSecretValue + `"}`, "no details"},
		{"create null details", create, `{"status":"success","details":null,"token":"` + lcSecretValue + `"}`, "no details"},
		{"get without details", get, `{"status":"success"}`, "no details"},
		{"revoke status not success", revoke, `{"status":"pending","details":` + lcTokenJSON(prefactor.TokenStatusRevoked) + `}`, `status "pending"`},
		{"suspend not JSON", suspend, `<html>`, "decoding response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLCFake(t, tt.call.From)
			f.srv.FailNext(1, prefactortest.Fault{Status: http.StatusOK, Body: tt.body, Header: http.Header{"Content-Type": {"application/json"}}})
			tok, err := tt.call.Call(context.Background(), f.c, "tok_1")
			if err == nil {
				t.Fatalf("got token %+v, want an error", tok)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: "+tt.call.Op+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %q and say %q", err, tt.call.Op, tt.want)
			}
			if strings.Contains(err.Error(), lcSecretValue) {
				t.Errorf("error %q holds the token value", err)
			}
			noToken(t, "error", err.Error())
			var apiErr *prefactor.APIError
			if errors.As(err, &apiErr) {
				t.Errorf("err is an *APIError for a 2xx: %v", apiErr)
			}
			if n := f.srv.RequestCount(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// The created token's value shows only through Reveal: not through fmt, not
// through log/slog's handlers, not through encoding/json.
func TestCreatedAPITokenRedaction(t *testing.T) {
	const redacted = "[REDACTED]"
	f := newLCFake(t, "")
	created, err := f.c.APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
	if err != nil {
		t.Fatal(err)
	}
	value := f.tap.field(t, "token")
	if got := created.Token.Reveal(); got != value {
		t.Fatalf("Reveal() = %q, want the server's %q", got, value)
	}

	outputs := map[string]string{
		"String": created.Token.String(),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outputs["value "+verb] = fmt.Sprintf(verb, *created)
		outputs["pointer "+verb] = fmt.Sprintf(verb, created)
		outputs["field "+verb] = fmt.Sprintf(verb, created.Token)
	}
	for _, h := range []struct {
		name string
		new  func(io.Writer) slog.Handler
	}{
		{"json", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }},
		{"text", func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }},
	} {
		var buf bytes.Buffer
		slog.New(h.new(&buf)).Info("made", "created", created, "value", *created, "token", created.Token)
		outputs["slog "+h.name] = buf.String()
	}
	js, err := json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json.Marshal"] = string(js)

	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s shows the token value: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s has no %s marker: %s", name, redacted, out)
		}
	}
	// The summary itself still prints: redaction hides the value only.
	if id := created.ID; id == "" || !strings.Contains(outputs["slog json"], `"ID":"`+id+`"`) && !strings.Contains(outputs["slog json"], `"id":"`+id+`"`) {
		t.Errorf("slog JSON lost the token's summary: %s", outputs["slog json"])
	}
}

// Create has no lifecycle to refuse; its typed refusal is a key reused for a
// different request. The fake answers it as the service does, 422.
func TestAPITokensCreateKeyAlreadyUsed(t *testing.T) {
	f := newLCFake(t, "")
	ctx := context.Background()
	if _, err := f.c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount}, prefactor.WithIdempotencyKey("used-before")); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeEnvironment, EnvironmentID: "env_1"},
		prefactor.WithIdempotencyKey("used-before"))
	if e := prefactor.AsAPIError(t, err); e.Code != prefactor.CodeIdempotencyKeyAlreadyUsed || e.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("APIError %d %s, want 422 %s", e.StatusCode, e.Code, prefactor.CodeIdempotencyKeyAlreadyUsed)
	}
	if n := f.srv.RequestCount(); n != 2 {
		t.Errorf("server saw %d requests, want 2 (a refusal is final)", n)
	}
	if n := len(f.srv.Tokens()); n != 1 {
		t.Errorf("store holds %d tokens, want the first create's only", n)
	}
}
