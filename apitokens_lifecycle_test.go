package prefactor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lifecycle tests run against a loopback server that records every
// attempt it receives and answers from a script. The client's base URL has
// a path prefix (/gw/), which every request must keep.

const lcPrefix = "/gw/"

// lcReply is one scripted answer. hangUp closes the connection without
// answering, as a server that crashed after reading the request would.
type lcReply struct {
	status int
	body   string
	hangUp bool
}

// lcRequest is what the server saw of one attempt.
type lcRequest struct {
	Method      string
	RequestURI  string // raw, as sent: path and query, nothing decoded
	Path        string // decoded path
	Query       url.Values
	ContentType string
	Body        []byte
}

// key returns the attempt's idempotency key, from its JSON body: every
// mutation, DELETE included, sends it there.
func (r lcRequest) key(t *testing.T) string {
	t.Helper()
	var b struct {
		Key *string `json:"idempotency_key"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Key == nil {
		t.Fatalf("%s %s: no idempotency_key in body %q (err %v)", r.Method, r.RequestURI, r.Body, err)
	}
	return *b.Key
}

type lcServer struct {
	mu      sync.Mutex
	seen    []lcRequest
	replies []lcReply
}

func (s *lcServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, lcRequest{
		Method:      r.Method,
		RequestURI:  r.RequestURI,
		Path:        r.URL.Path,
		Query:       r.URL.Query(),
		ContentType: r.Header.Get("Content-Type"),
		Body:        body,
	})
	reply := lcReply{status: http.StatusInternalServerError, body: `{"status":"error","code":"unexpected","message":"no reply scripted"}`}
	if len(s.replies) > 0 {
		reply = s.replies[0]
		if len(s.replies) > 1 {
			s.replies = s.replies[1:]
		}
	}
	s.mu.Unlock()

	if reply.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.status)
	_, _ = io.WriteString(w, reply.body)
}

// requests returns a copy of what the server has seen.
func (s *lcServer) requests() []lcRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]lcRequest(nil), s.seen...)
}

// lcSetup starts a server that answers with replies in order (the last one
// repeats) and a client for it with tiny retry waits.
func lcSetup(t *testing.T, replies ...lcReply) (*Client, *lcServer) {
	t.Helper()
	s := &lcServer{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := NewClient(testToken,
		WithBaseURL(srv.URL+lcPrefix),
		WithMaxRetries(3),
		WithRetryWait(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

const lcTokenValue = "pf_live_0123456789abcdefSECRET"

func lcToken(status TokenStatus) string {
	return fmt.Sprintf(`{"id":"tok_1","type":"api_token","account_id":"acc_1",`+
		`"created_by_admin_user_id":null,"environment_id":"env_1","agent_deployment_id":"dep_1",`+
		`"expires_at":"2030-01-01T00:00:00Z","inserted_at":"2024-01-01T00:00:00Z",`+
		`"updated_at":"2024-06-01T00:00:00Z","last_used_at":null,`+
		`"status":%q,"token_scope":"agent_deployment"}`, status)
}

func lcOK(status TokenStatus) lcReply {
	return lcReply{status: http.StatusOK, body: `{"status":"success","details":` + lcToken(status) + `}`}
}

func lcCreated() lcReply {
	return lcReply{status: http.StatusCreated, body: `{"status":"success","details":` + lcToken(TokenStatusActive) + `,"token":"` + lcTokenValue + `"}`}
}

func lcAPIError(status int, code ErrorCode) lcReply {
	return lcReply{status: status, body: fmt.Sprintf(`{"status":"error","code":%q,"message":"scripted %s"}`, code, code)}
}

// lcCall is one method of the service, called uniformly.
type lcCall struct {
	name    string
	op      string
	method  string
	path    string // after the prefix, escaped, for id "tok_1"
	success lcReply
	// status is the token status the success reply holds.
	status TokenStatus
	// lifecycle is true for the calls the service may refuse as
	// invalid_action.
	lifecycle bool
	call      func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error)
}

func (c lcCall) mutation() bool { return c.method != http.MethodGet }

var lcCalls = []lcCall{
	{
		name: "Get", op: opGetAPIToken, method: http.MethodGet, path: "api/v1/api_token/tok_1",
		success: lcOK(TokenStatusActive), status: TokenStatusActive,
		call: func(ctx context.Context, c *Client, id string, _ ...RequestOption) (*APIToken, error) {
			return c.APITokens.Get(ctx, id)
		},
	},
	{
		name: "Create", op: opCreateAPIToken, method: http.MethodPost, path: "api/v1/api_token",
		success: lcCreated(), status: TokenStatusActive,
		call: func(ctx context.Context, c *Client, _ string, opts ...RequestOption) (*APIToken, error) {
			created, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAccount}, opts...)
			if err != nil {
				return nil, err
			}
			if created.Token.Reveal() != lcTokenValue {
				return nil, fmt.Errorf("token value %q, want %q", created.Token.Reveal(), lcTokenValue)
			}
			return &created.APIToken, nil
		},
	},
	{
		name: "Suspend", op: opSuspendAPIToken, method: http.MethodPost, path: "api/v1/api_token/tok_1/suspend",
		success: lcOK(TokenStatusSuspended), status: TokenStatusSuspended, lifecycle: true,
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return c.APITokens.Suspend(ctx, id, opts...)
		},
	},
	{
		name: "Activate", op: opActivateAPIToken, method: http.MethodPost, path: "api/v1/api_token/tok_1/activate",
		success: lcOK(TokenStatusActive), status: TokenStatusActive, lifecycle: true,
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return c.APITokens.Activate(ctx, id, opts...)
		},
	},
	{
		name: "Revoke", op: opRevokeAPIToken, method: http.MethodPost, path: "api/v1/api_token/tok_1/revoke",
		success: lcOK(TokenStatusRevoked), status: TokenStatusRevoked, lifecycle: true,
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return c.APITokens.Revoke(ctx, id, opts...)
		},
	},
	{
		name: "Delete", op: opDeleteAPIToken, method: http.MethodDelete, path: "api/v1/api_token/tok_1",
		success: lcReply{status: http.StatusNoContent}, lifecycle: true,
		call: func(ctx context.Context, c *Client, id string, opts ...RequestOption) (*APIToken, error) {
			return nil, c.APITokens.Delete(ctx, id, opts...)
		},
	},
}

func TestAPITokenCallsSuccess(t *testing.T) {
	for _, tc := range lcCalls {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := lcSetup(t, tc.success)
			tok, err := tc.call(context.Background(), c, "tok_1")
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			seen := srv.requests()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			r := seen[0]
			path, query, _ := strings.Cut(r.RequestURI, "?")
			if r.Method != tc.method || path != lcPrefix+tc.path {
				t.Errorf("request %s %s, want %s %s", r.Method, path, tc.method, lcPrefix+tc.path)
			}

			switch tc.method {
			case http.MethodGet:
				if len(r.Body) != 0 || query != "" {
					t.Errorf("GET sent body %q and query %q, want neither", r.Body, query)
				}
			case http.MethodDelete, http.MethodPost:
				if r.ContentType != "application/json" {
					t.Errorf("Content-Type %q, want application/json", r.ContentType)
				}
				if query != "" {
					t.Errorf("%s sent query %q, want none", r.Method, query)
				}
			}
			if tc.mutation() {
				key := r.key(t)
				if key == "" || len(key) > maxIdempotencyKeyLen {
					t.Errorf("generated idempotency key %q: want 1..%d characters", key, maxIdempotencyKeyLen)
				}
				if tc.lifecycle {
					if want := `{"idempotency_key":"` + key + `"}`; string(r.Body) != want {
						t.Errorf("body %s, want %s", r.Body, want)
					}
				}
			}

			if tc.method == http.MethodDelete {
				return
			}
			if tok == nil {
				t.Fatal("nil token")
			}
			if tok.ID != "tok_1" || tok.Status != tc.status || tok.TokenScope != TokenScopeAgentDeployment {
				t.Errorf("token %s %s %s, want tok_1 %s agent_deployment", tok.ID, tok.Status, tok.TokenScope, tc.status)
			}
			if tok.AgentDeploymentID == nil || *tok.AgentDeploymentID != "dep_1" {
				t.Errorf("AgentDeploymentID %v, want dep_1", tok.AgentDeploymentID)
			}
		})
	}
}

func TestAPITokenCallsNotFound(t *testing.T) {
	for _, tc := range lcCalls {
		if tc.name == "Create" {
			continue // there is no token to miss
		}
		t.Run(tc.name, func(t *testing.T) {
			c, srv := lcSetup(t, lcAPIError(http.StatusNotFound, CodeNotFound))
			tok, err := tc.call(context.Background(), c, "tok_1")
			if tok != nil {
				t.Errorf("token %+v, want nil", tok)
			}
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err %v, want one matching ErrNotFound", err)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != CodeNotFound {
				t.Fatalf("err %#v, want *APIError 404 not_found", err)
			}
			if want := lcPrefix + tc.path; apiErr.Method != tc.method || apiErr.Path != want {
				t.Errorf("APIError names %s %s, want %s %s", apiErr.Method, apiErr.Path, tc.method, want)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: "+tc.op+": ") {
				t.Errorf("error %q does not name the operation %q", err, tc.op)
			}
			noSecret(t, "error", err.Error())
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1 (404 is final)", n)
			}
		})
	}
}

func TestAPITokenCallsRefusedTransition(t *testing.T) {
	for _, tc := range lcCalls {
		if !tc.lifecycle {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			c, srv := lcSetup(t, lcAPIError(http.StatusUnprocessableEntity, CodeInvalidAction))
			_, err := tc.call(context.Background(), c, "tok_1")
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Code != CodeInvalidAction || apiErr.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("err %v, want *APIError 422 invalid_action", err)
			}
			if apiErr.Message != "scripted invalid_action" {
				t.Errorf("Message %q, want the server's", apiErr.Message)
			}
			if errors.Is(err, ErrNotFound) {
				t.Error("invalid_action matches ErrNotFound")
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1 (a refusal is final)", n)
			}
		})
	}
}

// A call that fails and is retried sends the same idempotency key, and the
// same body, on every attempt: the generated key and the caller's.
func TestAPITokenCallsRetrySameKey(t *testing.T) {
	for _, tc := range lcCalls {
		for _, callerKey := range []string{"", "caller-key-1"} {
			name := tc.name + "/generated"
			var opts []RequestOption
			if callerKey != "" {
				name = tc.name + "/caller"
				opts = append(opts, WithIdempotencyKey(callerKey))
			}
			if !tc.mutation() && callerKey != "" {
				continue
			}
			t.Run(name, func(t *testing.T) {
				c, srv := lcSetup(t,
					lcAPIError(http.StatusServiceUnavailable, CodeUnexpected),
					lcReply{status: http.StatusBadGateway, body: "<html>bad gateway</html>"},
					tc.success)
				tok, err := tc.call(context.Background(), c, "tok_1", opts...)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if tc.method != http.MethodDelete && (tok == nil || tok.Status != tc.status) {
					t.Errorf("token %+v, want status %s", tok, tc.status)
				}
				seen := srv.requests()
				if len(seen) != 3 {
					t.Fatalf("server saw %d attempts, want 3", len(seen))
				}
				for i, r := range seen[1:] {
					if r.RequestURI != seen[0].RequestURI || !bytes.Equal(r.Body, seen[0].Body) {
						t.Errorf("attempt %d sent %s %q, attempt 1 sent %s %q", i+2, r.RequestURI, r.Body, seen[0].RequestURI, seen[0].Body)
					}
				}
				if !tc.mutation() {
					return
				}
				want := seen[0].key(t)
				if callerKey != "" && want != callerKey {
					t.Errorf("key %q, want the caller's %q", want, callerKey)
				}
				for i, r := range seen {
					if got := r.key(t); got != want {
						t.Errorf("attempt %d carried key %q, attempt 1 %q", i+1, got, want)
					}
				}
			})
		}
	}
}

// The retry that matters most: the server may have made the token before
// the connection broke. The second attempt must carry the first one's key
// so the server can replay instead of making a second token.
func TestAPITokensCreateRetryAfterHangUpKeepsKey(t *testing.T) {
	c, srv := lcSetup(t, lcReply{hangUp: true}, lcCreated())
	created, err := c.APITokens.Create(context.Background(), &CreateAPITokenRequest{TokenScope: TokenScopeAccount})
	if err != nil {
		t.Fatal(err)
	}
	if created.Token.Reveal() != lcTokenValue {
		t.Errorf("token value %q, want %q", created.Token.Reveal(), lcTokenValue)
	}
	seen := srv.requests()
	if len(seen) != 2 {
		t.Fatalf("server saw %d attempts, want 2", len(seen))
	}
	if k1, k2 := seen[0].key(t), seen[1].key(t); k1 != k2 {
		t.Errorf("keys %q and %q differ between attempts", k1, k2)
	}
}

func TestAPITokensGeneratedKeysDiffer(t *testing.T) {
	c, srv := lcSetup(t, lcOK(TokenStatusRevoked))
	for range 2 {
		if _, err := c.APITokens.Revoke(context.Background(), "tok_1"); err != nil {
			t.Fatal(err)
		}
	}
	seen := srv.requests()
	if len(seen) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(seen))
	}
	if k1, k2 := seen[0].key(t), seen[1].key(t); k1 == k2 {
		t.Errorf("two calls shared the generated key %q", k1)
	}
}

func TestAPITokensCreateBody(t *testing.T) {
	sydney := time.FixedZone("AEST", 10*60*60)
	expires := time.Date(2031, 2, 3, 14, 5, 6, 789_000_000, sydney)
	zero := time.Time{}
	tests := []struct {
		name string
		req  CreateAPITokenRequest
		want map[string]any // details
	}{
		{
			name: "all fields",
			req: CreateAPITokenRequest{
				TokenScope: TokenScopeAgentDeployment, AccountID: "acc_1", AgentID: "agent_1",
				EnvironmentID: "env_1", ExpiresAt: &expires,
			},
			want: map[string]any{
				"token_scope": "agent_deployment", "account_id": "acc_1", "agent_id": "agent_1",
				"environment_id": "env_1", "expires_at": "2031-02-03T04:05:06Z",
			},
		},
		{
			name: "scope only",
			req:  CreateAPITokenRequest{TokenScope: TokenScopeAccount},
			want: map[string]any{"token_scope": "account"},
		},
		{
			name: "zero expiry omitted",
			req:  CreateAPITokenRequest{TokenScope: TokenScopeEnvironment, EnvironmentID: "env_2", ExpiresAt: &zero},
			want: map[string]any{"token_scope": "environment", "environment_id": "env_2"},
		},
		{
			name: "past expiry and unknown scope passed on",
			req:  CreateAPITokenRequest{TokenScope: "project", ExpiresAt: ptr(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))},
			want: map[string]any{"token_scope": "project", "expires_at": "2001-01-01T00:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := lcSetup(t, lcCreated())
			if _, err := c.APITokens.Create(context.Background(), &tt.req, WithIdempotencyKey("key-1")); err != nil {
				t.Fatal(err)
			}
			seen := srv.requests()
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
	tooLong := strings.Repeat("k", maxIdempotencyKeyLen+1)
	tests := []struct {
		name string
		op   string
		call func(c *Client) error
		want string // in the error
	}{
		{"create nil request", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, nil)
			return err
		}, "nil *CreateAPITokenRequest"},
		{"create no scope", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{AccountID: "acc_1"})
			return err
		}, "TokenScope is required"},
		{"create agent_deployment without agent", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAgentDeployment, EnvironmentID: "env_1"})
			return err
		}, "AgentID is required"},
		{"create agent_deployment without environment", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAgentDeployment, AgentID: "agent_1"})
			return err
		}, "EnvironmentID is required"},
		{"create expiry beyond RFC 3339", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAccount, ExpiresAt: ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))})
			return err
		}, "year 10000"},
		{"create key too long", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAccount}, WithIdempotencyKey(tooLong))
			return err
		}, "65 characters"},
		{"create empty key", opCreateAPIToken, func(c *Client) error {
			_, err := c.APITokens.Create(ctx, &CreateAPITokenRequest{TokenScope: TokenScopeAccount}, WithIdempotencyKey(""))
			return err
		}, "empty key"},
		{"suspend key too long", opSuspendAPIToken, func(c *Client) error {
			_, err := c.APITokens.Suspend(ctx, "tok_1", WithIdempotencyKey(tooLong))
			return err
		}, "65 characters"},
		{"delete key too long", opDeleteAPIToken, func(c *Client) error {
			return c.APITokens.Delete(ctx, "tok_1", WithIdempotencyKey(tooLong))
		}, "65 characters"},
		{"revoke empty key", opRevokeAPIToken, func(c *Client) error {
			_, err := c.APITokens.Revoke(ctx, "tok_1", WithIdempotencyKey("ok"), WithIdempotencyKey(""))
			return err
		}, "empty key"},
	}
	for _, id := range []string{"", "   ", ".", ".."} {
		for _, tc := range lcCalls {
			if tc.name == "Create" {
				continue
			}
			tests = append(tests, struct {
				name string
				op   string
				call func(c *Client) error
				want string
			}{fmt.Sprintf("%s id %q", tc.name, id), tc.op, func(c *Client) error {
				_, err := tc.call(ctx, c, id)
				return err
			}, "token ID"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := lcSetup(t, lcCreated())
			err := tt.call(c)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err %v, want one matching ErrInvalidArgument", err)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: "+tt.op+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %q and say %q", err, tt.op, tt.want)
			}
			if n := len(srv.requests()); n != 0 {
				t.Errorf("server saw %d requests, want none", n)
			}
		})
	}
}

// A key of exactly 64 characters, counted as characters, not bytes, is
// sent as given; a nil option is ignored.
func TestAPITokensIdempotencyKeyLimit(t *testing.T) {
	key := strings.Repeat("é", maxIdempotencyKeyLen) // 128 bytes
	c, srv := lcSetup(t, lcReply{status: http.StatusOK})
	if err := c.APITokens.Delete(context.Background(), "tok_1", nil, WithIdempotencyKey(key)); err != nil {
		t.Fatal(err)
	}
	seen := srv.requests()
	if len(seen) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(seen))
	}
	if got := seen[0].key(t); got != key {
		t.Errorf("key %q, want %q", got, key)
	}
}

// An ID is one path segment whatever it holds: the raw path the server
// receives has it escaped, and the decoded path has it whole.
func TestAPITokensPathEscaping(t *testing.T) {
	ids := []struct{ id, escaped string }{
		{"a/b", "a%2Fb"},
		{"../../admin", "..%2F..%2Fadmin"},
		{"a?b=c", "a%3Fb=c"},
		{"100%", "100%25"},
		{"%2F", "%252F"},
		{"a#b", "a%23b"},
		{"a b", "a%20b"},
		{"...", "..."},
		{"tök", "t%C3%B6k"},
	}
	calls := map[string]bool{"Get": true, "Revoke": true, "Delete": true}
	for _, tc := range lcCalls {
		if !calls[tc.name] {
			continue
		}
		for _, id := range ids {
			t.Run(tc.name+"/"+id.id, func(t *testing.T) {
				c, srv := lcSetup(t, tc.success)
				if _, err := tc.call(context.Background(), c, id.id); err != nil {
					t.Fatal(err)
				}
				seen := srv.requests()
				if len(seen) != 1 {
					t.Fatalf("server saw %d requests, want 1", len(seen))
				}
				suffix := strings.TrimPrefix(tc.path, "api/v1/api_token/tok_1")
				rawPath, _, _ := strings.Cut(seen[0].RequestURI, "?")
				if want := lcPrefix + "api/v1/api_token/" + id.escaped + suffix; rawPath != want {
					t.Errorf("raw path %q, want %q", rawPath, want)
				}
				if want := lcPrefix + "api/v1/api_token/" + id.id + suffix; seen[0].Path != want {
					t.Errorf("decoded path %q, want %q", seen[0].Path, want)
				}
				if tc.method == http.MethodGet && seen[0].Query.Encode() != "" {
					t.Errorf("query %q, want none", seen[0].Query.Encode())
				}
			})
		}
	}
}

func TestAPITokensDeleteAny2xx(t *testing.T) {
	for _, reply := range []lcReply{
		{status: http.StatusOK},
		{status: http.StatusOK, body: `{"status":"success"}`},
		{status: http.StatusAccepted, body: "queued"},
		{status: http.StatusNoContent},
	} {
		t.Run(fmt.Sprintf("%d %q", reply.status, reply.body), func(t *testing.T) {
			c, srv := lcSetup(t, reply)
			if err := c.APITokens.Delete(context.Background(), "tok_1"); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// A 2xx body that lacks what the call returns is an error naming the
// operation, and is not retried.
func TestAPITokensMalformedSuccess(t *testing.T) {
	tests := []struct {
		name string
		call lcCall
		body string
		want string
	}{
		{"create without token", lcCalls[1], `{"status":"success","details":` + lcToken(TokenStatusActive) + `}`, "no token value"},
		{"create empty token", lcCalls[1], `{"status":"success","details":` + lcToken(TokenStatusActive) + `,"token":""}`, "no token value"},
		{"create without details", lcCalls[1], `{"status":"success","token":"` + lcTokenValue + `"}`, "no details"},
		{"create null details", lcCalls[1], `{"status":"success","details":null,"token":"` + lcTokenValue + `"}`, "no details"},
		{"get without details", lcCalls[0], `{"status":"success"}`, "no details"},
		{"revoke status not success", lcCalls[4], `{"status":"pending","details":` + lcToken(TokenStatusRevoked) + `}`, `status "pending"`},
		{"suspend not JSON", lcCalls[2], `<html>`, "decoding response"},
	}
	// 204 No Content is a success status, but these calls must return a token.
	for _, call := range lcCalls {
		if call.name != "Delete" {
			tests = append(tests, struct {
				name string
				call lcCall
				body string
				want string
			}{call.name + " 204", call, "", "empty body (status 204)"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusOK
			if strings.HasSuffix(tt.name, " 204") {
				status = http.StatusNoContent
			}
			c, srv := lcSetup(t, lcReply{status: status, body: tt.body})
			tok, err := tt.call.call(context.Background(), c, "tok_1")
			if err == nil {
				t.Fatalf("got token %+v, want an error", tok)
			}
			if !strings.HasPrefix(err.Error(), "prefactor: "+tt.call.op+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name %q and say %q", err, tt.call.op, tt.want)
			}
			if strings.Contains(err.Error(), lcTokenValue) {
				t.Errorf("error %q holds the token value", err)
			}
			noSecret(t, "error", err.Error())
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				t.Errorf("err is an *APIError for a 2xx: %v", apiErr)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// The created token's value shows only through Reveal: not through fmt, not
// through log/slog's handlers, not through encoding/json.
func TestCreatedAPITokenRedaction(t *testing.T) {
	c, _ := lcSetup(t, lcCreated())
	created, err := c.APITokens.Create(context.Background(), &CreateAPITokenRequest{TokenScope: TokenScopeAccount})
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Token.Reveal(); got != lcTokenValue {
		t.Fatalf("Reveal() = %q, want %q", got, lcTokenValue)
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
		if strings.Contains(out, lcTokenValue) || strings.Contains(out, fmt.Sprintf("%x", lcTokenValue)) {
			t.Errorf("%s shows the token value: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s has no %s marker: %s", name, redacted, out)
		}
	}
	// The summary itself still prints: redaction hides the value only.
	if !strings.Contains(outputs["slog json"], `"ID":"tok_1"`) && !strings.Contains(outputs["slog json"], `"id":"tok_1"`) {
		t.Errorf("slog JSON lost the token's summary: %s", outputs["slog json"])
	}
}

// Create has no lifecycle to refuse; its typed refusal is a key reused for a
// different request.
func TestAPITokensCreateKeyAlreadyUsed(t *testing.T) {
	c, srv := lcSetup(t, lcAPIError(http.StatusConflict, CodeIdempotencyKeyAlreadyUsed))
	_, err := c.APITokens.Create(context.Background(), &CreateAPITokenRequest{TokenScope: TokenScopeAccount}, WithIdempotencyKey("used-before"))
	if e := asAPIError(t, err); e.Code != CodeIdempotencyKeyAlreadyUsed || e.StatusCode != http.StatusConflict {
		t.Errorf("APIError %d %s, want 409 %s", e.StatusCode, e.Code, CodeIdempotencyKeyAlreadyUsed)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1 (a refusal is final)", n)
	}
}
