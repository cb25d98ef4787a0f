package prefactortest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// clockTime is the fixed clock of these tests.
var clockTime = time.Date(2026, time.April, 1, 8, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return clockTime }

// lcServer starts a fake on the fixed clock holding tokens.
func lcServer(t *testing.T, tokens ...prefactor.APIToken) *prefactortest.Server {
	t.Helper()
	srv := prefactortest.NewServer(t, tokens...)
	srv.SetClock(fixedClock)
	return srv
}

// call sends method target with the accepted bearer token and body as JSON
// ("" sends none), and returns the raw answer.
func call(t *testing.T, srv *prefactortest.Server, method, target, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL()+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

// wireToken is the JSON of a one-token answer, with every top-level key.
type wireToken struct {
	Status  string             `json:"status"`
	Details prefactor.APIToken `json:"details"`
	Token   *string            `json:"token"`
	all     map[string]json.RawMessage
}

// decodeToken decodes a success answer with the given status.
func decodeToken(t *testing.T, a answer, status int) wireToken {
	t.Helper()
	var w wireToken
	w.all = decodeAnswer(t, a, status, &w)
	if w.Status != "success" {
		t.Errorf("status %q, want success", w.Status)
	}
	return w
}

// tokenWith returns a sample token with the given ID and status.
func tokenWith(id string, st prefactor.TokenStatus) prefactor.APIToken {
	tok := prefactortest.FakeTokens(1)[0]
	tok.ID, tok.Status = id, st
	return tok
}

func tokenPath(id string) string { return listPath + "/" + id }

// wantActions is the lifecycle table as available_actions states it.
func wantActions(st prefactor.TokenStatus) *prefactor.TokenActions {
	switch st {
	case prefactor.TokenStatusActive:
		return &prefactor.TokenActions{Suspend: true, Revoke: true}
	case prefactor.TokenStatusSuspended:
		return &prefactor.TokenActions{Activate: true, Revoke: true}
	case prefactor.TokenStatusRevoked:
		return &prefactor.TokenActions{Delete: true}
	}
	return &prefactor.TokenActions{}
}

// detailed returns tok as a one-token answer shows it: with the actions
// its status allows.
func detailed(tok prefactor.APIToken) prefactor.APIToken {
	tok.AvailableActions = wantActions(tok.Status)
	return tok
}

func strp(s string) *string { return &s }

func TestGetToken(t *testing.T) {
	tokens := prefactortest.FakeTokens(6)
	srv := lcServer(t, tokens...)
	for _, want := range tokens {
		w := decodeToken(t, call(t, srv, http.MethodGet, tokenPath(want.ID), ""), http.StatusOK)
		if !sameJSON(t, w.Details, detailed(want)) {
			t.Errorf("GET %s: details %+v, want %+v", want.ID, w.Details, want)
		}
		if _, ok := w.all["token"]; ok || len(w.all) != 2 {
			t.Errorf("GET %s: keys %v, want status and details only", want.ID, slices.Sorted(maps.Keys(w.all)))
		}
	}

	e := decodeError(t, call(t, srv, http.MethodGet, tokenPath("01nosuchtoken"), ""), http.StatusNotFound)
	if e.Code != string(prefactor.CodeNotFound) || !strings.Contains(e.Message, "01nosuchtoken") {
		t.Errorf("unknown ID: %+v", e)
	}
	// Authentication as on the list.
	if e := decodeError(t, send(t, srv, http.MethodGet, tokenPath(tokens[0].ID), ""), http.StatusUnauthorized); e.Code != string(prefactor.CodeNotAuthenticated) {
		t.Errorf("no token: %+v", e)
	}
	if e := decodeError(t, send(t, srv, http.MethodPost, tokenPath(tokens[0].ID)+"/revoke", "Bearer wrong"), http.StatusUnauthorized); e.Code != string(prefactor.CodeBadAuthToken) {
		t.Errorf("wrong token: %+v", e)
	}
	if got := srv.Tokens(); !sameJSON(t, got, tokens) {
		t.Error("a refused request changed the store")
	}
}

func TestLifecycleRules(t *testing.T) {
	const (
		active    = prefactor.TokenStatusActive
		suspended = prefactor.TokenStatusSuspended
		revoked   = prefactor.TokenStatusRevoked
	)
	tests := []struct {
		from   prefactor.TokenStatus
		action string // suspend, activate, revoke or delete
		to     prefactor.TokenStatus
		// refusal is part of the invalid_action message; "" when allowed.
		refusal string
	}{
		{active, "suspend", suspended, ""},
		{suspended, "suspend", "", "only an active token can be suspended"},
		{revoked, "suspend", "", "only an active token can be suspended"},
		{suspended, "activate", active, ""},
		{active, "activate", "", "only a suspended token can be activated"},
		{revoked, "activate", "", "only a suspended token can be activated"},
		{active, "revoke", revoked, ""},
		{suspended, "revoke", revoked, ""},
		{revoked, "revoke", "", "only an active or suspended token can be revoked"},
		{revoked, "delete", "", ""},
		{active, "delete", "", "revoke it first"},
		{suspended, "delete", "", "revoke it first"},
		{"frozen", "activate", "", "only a suspended token can be activated"}, // a status the fake does not know
		{"frozen", "delete", "", "revoke it first"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s", tt.action, tt.from), func(t *testing.T) {
			const id = "01kt0000000000000000000000000001"
			other := prefactortest.FakeTokens(1)[0]
			before := tokenWith(id, tt.from)
			srv := lcServer(t, before, other)

			method, target := http.MethodPost, tokenPath(id)+"/"+tt.action
			if tt.action == "delete" {
				method, target = http.MethodDelete, tokenPath(id)
			}
			a := call(t, srv, method, target, `{"idempotency_key":"k-1"}`)

			switch {
			case tt.refusal != "":
				e := decodeError(t, a, http.StatusUnprocessableEntity)
				if e.Code != string(prefactor.CodeInvalidAction) || !strings.Contains(e.Message, tt.refusal) ||
					!strings.Contains(e.Message, id) || !strings.Contains(e.Message, "it is "+string(tt.from)) {
					t.Errorf("refusal %+v, want invalid_action naming the token, its status and %q", e, tt.refusal)
				}
				if !sameJSON(t, srv.Tokens(), []prefactor.APIToken{before, other}) {
					t.Error("a refused move changed the store")
				}
			case tt.action == "delete":
				// The token as it was deleted, nothing left to do to it.
				w := decodeToken(t, a, http.StatusOK)
				want := before
				want.AvailableActions = &prefactor.TokenActions{}
				if !sameJSON(t, w.Details, want) {
					t.Errorf("delete answered %+v,\nwant %+v", w.Details, want)
				}
				if !sameJSON(t, srv.Tokens(), []prefactor.APIToken{other}) {
					t.Errorf("after delete the store holds %v", ids(srv.Tokens()))
				}
				decodeError(t, call(t, srv, http.MethodGet, tokenPath(id), ""), http.StatusNotFound)
			default:
				w := decodeToken(t, a, http.StatusOK)
				want := before
				want.Status, want.UpdatedAt = tt.to, clockTime
				if !sameJSON(t, w.Details, detailed(want)) {
					t.Errorf("answer %+v,\nwant %+v", w.Details, detailed(want))
				}
				if got := srv.Tokens(); !sameJSON(t, got, []prefactor.APIToken{want, other}) {
					t.Errorf("store %+v, want the token moved and the other one untouched", got)
				}
			}
		})
	}
}

func TestUnknownTokenIsNotFound(t *testing.T) {
	srv := lcServer(t, prefactortest.FakeTokens(3)...)
	c := srv.Client()
	ctx := context.Background()
	const id = "01kt0000000000000000000000000404"
	calls := map[string]func() error{
		"get":      func() error { _, err := c.APITokens.Get(ctx, id); return err },
		"suspend":  func() error { _, err := c.APITokens.Suspend(ctx, id); return err },
		"activate": func() error { _, err := c.APITokens.Activate(ctx, id); return err },
		"revoke":   func() error { _, err := c.APITokens.Revoke(ctx, id); return err },
		"delete":   func() error { return c.APITokens.Delete(ctx, id) },
	}
	for name, f := range calls {
		err := f()
		if e := apiError(t, err); e.StatusCode != http.StatusNotFound || !errors.Is(err, prefactor.ErrNotFound) || !strings.Contains(e.Message, id) {
			t.Errorf("%s: %v, want 404 not_found naming the ID", name, err)
		}
	}
	if len(srv.Tokens()) != 3 {
		t.Error("the store changed")
	}
}

func TestIDsArePathSegments(t *testing.T) {
	// The SDK escapes an ID into one path segment; the fake looks it up
	// unescaped.
	odd := tokenWith("a/b?c=d#e%f", prefactor.TokenStatusActive)
	srv := lcServer(t, odd, prefactortest.FakeTokens(1)[0])
	c := srv.Client()
	got, err := c.APITokens.Get(context.Background(), odd.ID)
	if err != nil || got.ID != odd.ID {
		t.Fatalf("Get(%q) = %+v, %v", odd.ID, got, err)
	}
	if _, err := c.APITokens.Revoke(context.Background(), odd.ID); err != nil {
		t.Fatal(err)
	}
	if st := srv.Tokens()[0].Status; st != prefactor.TokenStatusRevoked {
		t.Errorf("status %s after revoke", st)
	}
}

func TestCreate(t *testing.T) {
	srv := lcServer(t, prefactortest.FakeTokens(2)...)
	ownAccount := prefactortest.AccountID // the calling token's account
	expiry := clockTime.AddDate(1, 0, 0)

	tests := []struct {
		name string
		body string
		want prefactor.APIToken // ID and AgentDeploymentID checked separately
	}{
		{"account, defaults", `{"details":{"token_scope":"account"}}`, prefactor.APIToken{
			AccountID: ownAccount, TokenScope: prefactor.TokenScopeAccount, ExpiresAt: clockTime.Add(prefactortest.DefaultTokenLifetime),
		}},
		{"account given, expiry given", `{"details":{"token_scope":"account","account_id":"acct-x","expires_at":"` + expiry.Format(time.RFC3339) + `"}}`, prefactor.APIToken{
			AccountID: "acct-x", TokenScope: prefactor.TokenScopeAccount, ExpiresAt: expiry,
		}},
		{"expiry with an offset", `{"details":{"token_scope":"account","expires_at":"2026-04-02T10:00:00+02:00"}}`, prefactor.APIToken{
			AccountID: ownAccount, TokenScope: prefactor.TokenScopeAccount, ExpiresAt: time.Date(2026, time.April, 2, 8, 0, 0, 0, time.UTC),
		}},
		{"environment", `{"details":{"token_scope":"environment","environment_id":"env-1"},"idempotency_key":"c-1"}`, prefactor.APIToken{
			AccountID: ownAccount, TokenScope: prefactor.TokenScopeEnvironment, EnvironmentID: strp("env-1"), ExpiresAt: clockTime.Add(prefactortest.DefaultTokenLifetime),
		}},
		{"agent deployment", `{"details":{"token_scope":"agent_deployment","agent_id":"agent-1","environment_id":"env-1"}}`, prefactor.APIToken{
			AccountID: ownAccount, TokenScope: prefactor.TokenScopeAgentDeployment, EnvironmentID: strp("env-1"), AgentID: strp("agent-1"),
			ExpiresAt: clockTime.Add(prefactortest.DefaultTokenLifetime),
		}},
	}
	seenIDs, seenValues := map[string]bool{}, map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Tokens())
			w := decodeToken(t, call(t, srv, http.MethodPost, listPath, tt.body), http.StatusCreated)
			got := w.Details

			if !idPattern.MatchString(got.ID) || idMillis(got.ID) != clockTime.UnixMilli() || seenIDs[got.ID] {
				t.Errorf("ID %q: want a new sample-shaped ID of the clock's millisecond", got.ID)
			}
			seenIDs[got.ID] = true
			if w.Token == nil || seenValues[*w.Token] {
				t.Errorf("token value %v: want a new one", w.Token)
			} else {
				checkTokenValue(t, *w.Token, got)
				seenValues[*w.Token] = true
			}
			if (got.TokenScope == prefactor.TokenScopeAgentDeployment) != (got.AgentDeploymentID != nil) {
				t.Errorf("agent_deployment_id %v for scope %s", got.AgentDeploymentID, got.TokenScope)
			}

			want := tt.want
			want.ID, want.Type, want.Status = got.ID, "api_token", prefactor.TokenStatusActive
			want.InsertedAt, want.UpdatedAt = clockTime, clockTime
			want.AgentDeploymentID = got.AgentDeploymentID
			if !sameJSON(t, got, detailed(want)) {
				t.Errorf("created %+v,\nwant %+v", got, detailed(want))
			}
			store := srv.Tokens()
			if len(store) != before+1 || !sameJSON(t, store[len(store)-1], want) {
				t.Errorf("the store did not gain exactly the created token")
			}
			if g := decodeToken(t, call(t, srv, http.MethodGet, tokenPath(got.ID), ""), http.StatusOK); !sameJSON(t, g.Details, got) || g.Token != nil {
				t.Errorf("GET after create: %+v, token %v; want the same summary and no value", g.Details, g.Token)
			}
		})
	}
}

func TestCreateAgentDeployments(t *testing.T) {
	srv := lcServer(t)
	c := srv.Client()
	create := func(agent, env string) string {
		t.Helper()
		tok, err := c.APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{
			TokenScope: prefactor.TokenScopeAgentDeployment, AgentID: agent, EnvironmentID: env,
		})
		if err != nil {
			t.Fatal(err)
		}
		if tok.AgentDeploymentID == nil || *tok.AgentDeploymentID == "" {
			t.Fatalf("no agent deployment ID: %+v", tok.APIToken)
		}
		return *tok.AgentDeploymentID
	}
	a1, a1again, a2, a1env2 := create("agent-1", "env-1"), create("agent-1", "env-1"), create("agent-2", "env-1"), create("agent-1", "env-2")
	if a1 != a1again {
		t.Errorf("one agent and environment got two deployments: %s, %s", a1, a1again)
	}
	if a1 == a2 || a1 == a1env2 || a2 == a1env2 {
		t.Errorf("distinct deployments share an ID: %s %s %s", a1, a2, a1env2)
	}
}

// checkTokenValue checks that v, the value of the created token tok, is
// shaped like the API's: a JWT of three base64url segments, whose header
// is {"alg":"HS256","typ":"JWT"} and whose payload names tok, with a
// 32-byte signature; and that prefactor.NewClient takes it.
func checkTokenValue(t *testing.T, v string, tok prefactor.APIToken) {
	t.Helper()
	segs := strings.Split(v, ".")
	if len(segs) != 3 {
		t.Fatalf("value %q has %d segments, want 3", v, len(segs))
	}
	var parts [3][]byte
	for i, seg := range segs {
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			t.Fatalf("segment %d of %q is not base64url: %v", i, v, err)
		}
		parts[i] = b
	}
	if string(parts[0]) != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header %s", parts[0])
	}
	var claims struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}
	if err := json.Unmarshal(parts[1], &claims); err != nil || claims.Sub != tok.ID || claims.Iat != tok.InsertedAt.Unix() || claims.Exp != tok.ExpiresAt.Unix() {
		t.Errorf("payload %s (%v), want sub %s, iat %d, exp %d", parts[1], err, tok.ID, tok.InsertedAt.Unix(), tok.ExpiresAt.Unix())
	}
	if len(parts[2]) != 32 {
		t.Errorf("signature of %d bytes, want 32", len(parts[2]))
	}
	if _, err := prefactor.NewClient(v); err != nil {
		t.Errorf("NewClient refuses the value: %v", err)
	}
}

func TestCreateIsDeterministic(t *testing.T) {
	create := func() (string, string) {
		srv := lcServer(t)
		w := decodeToken(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"account"}}`), http.StatusCreated)
		return w.Details.ID, *w.Token
	}
	id1, v1 := create()
	id2, v2 := create()
	if id1 != id2 || v1 != v2 {
		t.Errorf("two servers on one clock created %s/%s and %s/%s", id1, v1, id2, v2)
	}
}

func TestCreateValidation(t *testing.T) {
	srv := lcServer(t, prefactortest.FakeTokens(2)...)
	tests := []struct {
		name   string
		body   string
		code   prefactor.ErrorCode
		fields []string // field errors expected, sorted
	}{
		{"no body", "", prefactor.CodeRequiredValue, []string{"details"}},
		{"no details", `{"idempotency_key":"v-1"}`, prefactor.CodeRequiredValue, []string{"details"}},
		{"null details", `{"details":null}`, prefactor.CodeRequiredValue, []string{"details"}},
		{"no scope", `{"details":{}}`, prefactor.CodeRequiredValue, []string{"token_scope"}},
		{"unknown scope", `{"details":{"token_scope":"galaxy"}}`, prefactor.CodeInvalidValue, []string{"token_scope"}},
		{"scope not a string", `{"details":{"token_scope":5}}`, prefactor.CodeInvalidValue, []string{"token_scope"}},
		{"details not an object", `{"details":"account"}`, prefactor.CodeInvalidValue, []string{"details"}},
		{"environment without environment_id", `{"details":{"token_scope":"environment"}}`, prefactor.CodeRequiredValue, []string{"environment_id"}},
		{"environment with agent_id", `{"details":{"token_scope":"environment","environment_id":"e","agent_id":"a"}}`, prefactor.CodeInvalidValue, []string{"agent_id"}},
		{"agent_deployment without ids", `{"details":{"token_scope":"agent_deployment"}}`, prefactor.CodeRequiredValue, []string{"agent_id", "environment_id"}},
		{"agent_deployment without environment_id", `{"details":{"token_scope":"agent_deployment","agent_id":"a"}}`, prefactor.CodeRequiredValue, []string{"environment_id"}},
		{"agent_deployment with a blank agent_id", `{"details":{"token_scope":"agent_deployment","agent_id":" ","environment_id":"e"}}`, prefactor.CodeRequiredValue, []string{"agent_id"}},
		{"account with environment_id", `{"details":{"token_scope":"account","environment_id":"e"}}`, prefactor.CodeInvalidValue, []string{"environment_id"}},
		{"account with agent_id", `{"details":{"token_scope":"account","agent_id":"a"}}`, prefactor.CodeInvalidValue, []string{"agent_id"}},
		{"expiry not RFC 3339", `{"details":{"token_scope":"account","expires_at":"tomorrow"}}`, prefactor.CodeInvalidValue, []string{"expires_at"}},
		{"expiry in the past", `{"details":{"token_scope":"account","expires_at":"2026-03-31T08:00:00Z"}}`, prefactor.CodeInvalidValue, []string{"expires_at"}},
		{"expiry now", `{"details":{"token_scope":"account","expires_at":"2026-04-01T08:00:00Z"}}`, prefactor.CodeInvalidValue, []string{"expires_at"}},
		{"missing and invalid", `{"details":{"token_scope":"agent_deployment","expires_at":"soon"}}`, prefactor.CodeRequiredValue, []string{"agent_id", "environment_id", "expires_at"}},
		{"key too long", `{"details":{"token_scope":"account"},"idempotency_key":"` + strings.Repeat("k", 65) + `"}`, prefactor.CodeInvalidValue, []string{"idempotency_key"}},
		{"key not a string", `{"details":{"token_scope":"account"},"idempotency_key":7}`, prefactor.CodeInvalidValue, []string{"idempotency_key"}},
		{"not JSON", `{"details":`, prefactor.CodeBadRequest, nil},
		{"trailing data", `{"details":{"token_scope":"account"}} {}`, prefactor.CodeBadRequest, nil},
		{"not an object", `["account"]`, prefactor.CodeBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeError(t, call(t, srv, http.MethodPost, listPath, tt.body), http.StatusBadRequest)
			if e.Code != string(tt.code) {
				t.Errorf("code %s, want %s (%s)", e.Code, tt.code, e.Message)
			}
			if got := slices.Sorted(maps.Keys(e.Errors)); !slices.Equal(got, tt.fields) {
				t.Errorf("field errors %v, want %v", e.Errors, tt.fields)
			}
			for _, f := range tt.fields {
				if !strings.Contains(e.Message, f) {
					t.Errorf("message %q does not name %s", e.Message, f)
				}
			}
		})
	}
	if n := len(srv.Tokens()); n != 2 {
		t.Errorf("refused creates left %d tokens, want 2", n)
	}
}

func TestCreateValidationErrorsForm(t *testing.T) {
	srv := lcServer(t, prefactortest.FakeTokens(2)...)
	srv.SetValidationErrors(true)
	tests := []struct {
		name, body string
		errors     string // the "errors" object, as JSON
	}{
		{"no details", `{}`, `{"details":["is required"]}`},
		{"details not an object", `{"details":"account"}`, `{"details":["must be an object"]}`},
		{"no scope", `{"details":{}}`, `{"details":{"token_scope":["is required"]}}`},
		{"scope not a string", `{"details":{"token_scope":5}}`, `{"details":{"token_scope":["must be a string"]}}`},
		{"missing and invalid", `{"details":{"token_scope":"agent_deployment","expires_at":"soon"}}`, `{"details":{` +
			`"agent_id":["is required for token_scope agent_deployment"],` +
			`"environment_id":["is required for token_scope agent_deployment"],` +
			`"expires_at":["must be an RFC 3339 date-time, like 2026-01-31T12:00:00Z"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, srv, http.MethodPost, listPath, tt.body)
			code, got := rawError(t, a, http.StatusUnprocessableEntity)
			var want any
			if err := json.Unmarshal([]byte(tt.errors), &want); err != nil {
				t.Fatal(err)
			}
			if code != "validation_errors" || !reflect.DeepEqual(got, want) {
				t.Errorf("code %s, errors %v; want validation_errors, %s", code, got, tt.errors)
			}
		})
	}

	t.Run("the message names the fields by path", func(t *testing.T) {
		var body struct{ Message string }
		decodeAnswer(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"environment"}}`), http.StatusUnprocessableEntity, &body)
		if !strings.Contains(body.Message, "details.environment_id is required") {
			t.Errorf("message %q does not name details.environment_id", body.Message)
		}
	})

	t.Run("through the SDK", func(t *testing.T) {
		past := clockTime.Add(-time.Hour)
		_, err := srv.Client().APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount, ExpiresAt: &past})
		checkDetailsError(t, err, "expires_at", "must be in the future")
	})

	t.Run("other refusals keep their form", func(t *testing.T) {
		e := decodeError(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"account"},"idempotency_key":7}`), http.StatusBadRequest)
		if e.Code != string(prefactor.CodeInvalidValue) {
			t.Errorf("bad key: %+v", e)
		}
		decodeError(t, call(t, srv, http.MethodPost, listPath, `{"details":`), http.StatusBadRequest)
	})

	srv.SetValidationErrors(false)
	if e := decodeError(t, call(t, srv, http.MethodPost, listPath, `{"details":{}}`), http.StatusBadRequest); e.Code != string(prefactor.CodeRequiredValue) {
		t.Errorf("after SetValidationErrors(false): %+v, want 400 required_value", e)
	}
	if n := len(srv.Tokens()); n != 2 {
		t.Errorf("refused creates left %d tokens, want 2", n)
	}
}

func ExampleServer_SetValidationErrors() {
	srv, err := prefactortest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.SetValidationErrors(true)
	client, err := srv.NewClient()
	if err != nil {
		panic(err)
	}

	past := prefactortest.ReferenceTime().AddDate(-1, 0, 0)
	_, err = client.APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{
		TokenScope: prefactor.TokenScopeAccount,
		ExpiresAt:  &past,
	})
	var apiErr *prefactor.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Errors)
	}
	// Output:
	// 422 validation_errors map[details:map[expires_at:[must be in the future]]]
}

func TestIdempotentReplay(t *testing.T) {
	const id = "01kt0000000000000000000000000001"

	t.Run("create: same key and body, one token", func(t *testing.T) {
		srv := lcServer(t)
		body := `{"details":{"token_scope":"account"},"idempotency_key":"create-1"}`
		first := call(t, srv, http.MethodPost, listPath, body)
		w := decodeToken(t, first, http.StatusCreated)
		// The same JSON, spelled differently, is the same request.
		again := call(t, srv, http.MethodPost, listPath, ` { "idempotency_key" : "create-1", "details":{"token_scope":"account"}}`)
		if again.status != first.status || !bytes.Equal(again.body, first.body) {
			t.Errorf("replay %d %s,\nwant %d %s", again.status, again.body, first.status, first.body)
		}
		if got := srv.Tokens(); len(got) != 1 || got[0].ID != w.Details.ID {
			t.Errorf("store %v, want only %s", ids(got), w.Details.ID)
		}
		// Without a key, each create makes a token.
		decodeToken(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"account"}}`), http.StatusCreated)
		decodeToken(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"account"}}`), http.StatusCreated)
		if n := len(srv.Tokens()); n != 3 {
			t.Errorf("%d tokens, want 3", n)
		}
	})

	t.Run("same key, different request", func(t *testing.T) {
		srv := lcServer(t, tokenWith(id, prefactor.TokenStatusActive), tokenWith(id+"2", prefactor.TokenStatusRevoked))
		decodeToken(t, call(t, srv, http.MethodPost, listPath, `{"details":{"token_scope":"account"},"idempotency_key":"k"}`), http.StatusCreated)
		before := srv.Tokens()
		for _, r := range []struct{ method, target, body string }{
			{http.MethodPost, listPath, `{"details":{"token_scope":"account","account_id":"other"},"idempotency_key":"k"}`}, // other body
			{http.MethodPost, tokenPath(id) + "/suspend", `{"idempotency_key":"k"}`},                                        // other path
			{http.MethodDelete, tokenPath(id+"2") + "?idempotency_key=k", ""},                                               // other method
		} {
			e := decodeError(t, call(t, srv, r.method, r.target, r.body), http.StatusUnprocessableEntity)
			if e.Code != string(prefactor.CodeIdempotencyKeyAlreadyUsed) || !strings.Contains(e.Message, `"k"`) {
				t.Errorf("%s %s: %+v", r.method, r.target, e)
			}
		}
		if !sameJSON(t, srv.Tokens(), before) {
			t.Error("a request with a used key changed the store")
		}
	})

	t.Run("a move replays its first answer, success or refusal", func(t *testing.T) {
		srv := lcServer(t, tokenWith(id, prefactor.TokenStatusActive))
		suspended := call(t, srv, http.MethodPost, tokenPath(id)+"/suspend", `{"idempotency_key":"s-1"}`)
		decodeToken(t, suspended, http.StatusOK)
		refusedAnswer := call(t, srv, http.MethodPost, tokenPath(id)+"/suspend", `{"idempotency_key":"s-2"}`)
		decodeError(t, refusedAnswer, http.StatusUnprocessableEntity)

		// Replaying s-1 on a suspended token still answers 200 (not
		// invalid_action), and s-2 still refuses once the token is active.
		srv.SetClock(func() time.Time { return clockTime.Add(time.Hour) })
		decodeToken(t, call(t, srv, http.MethodPost, tokenPath(id)+"/activate", `{"idempotency_key":"a-1"}`), http.StatusOK)
		for key, want := range map[string]answer{"s-1": suspended, "s-2": refusedAnswer} {
			got := call(t, srv, http.MethodPost, tokenPath(id)+"/suspend", `{"idempotency_key":"`+key+`"}`)
			if got.status != want.status || !bytes.Equal(got.body, want.body) {
				t.Errorf("replay of %s: %d %s, want %d %s", key, got.status, got.body, want.status, want.body)
			}
		}
		if tok := srv.Tokens()[0]; tok.Status != prefactor.TokenStatusActive || !tok.UpdatedAt.Equal(clockTime.Add(time.Hour)) {
			t.Errorf("replays changed the token: %+v", tok)
		}
	})

	for _, tc := range []struct{ name, query, body string }{
		{"delete: key in the body", "", `{"idempotency_key":"d-1"}`},
		{"delete: key in the query", "?idempotency_key=d-1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := lcServer(t, tokenWith(id, prefactor.TokenStatusRevoked), tokenWith(id+"2", prefactor.TokenStatusRevoked))
			first := call(t, srv, http.MethodDelete, tokenPath(id)+tc.query, tc.body)
			if w := decodeToken(t, first, http.StatusOK); w.Details.ID != id {
				t.Errorf("delete answered with token %s, want %s", w.Details.ID, id)
			}
			if again := call(t, srv, http.MethodDelete, tokenPath(id)+tc.query, tc.body); again.status != first.status || !bytes.Equal(again.body, first.body) {
				t.Errorf("delete repeated with d-1: %d %s, want the first answer again", again.status, again.body)
			}
			// Without a key, deleting again finds nothing.
			decodeToken(t, call(t, srv, http.MethodDelete, tokenPath(id+"2"), ""), http.StatusOK)
			decodeError(t, call(t, srv, http.MethodDelete, tokenPath(id+"2"), ""), http.StatusNotFound)
			if n := len(srv.Tokens()); n != 0 {
				t.Errorf("%d tokens left, want 0", n)
			}
		})
	}

	t.Run("delete: the body's key wins over the query's", func(t *testing.T) {
		srv := lcServer(t, tokenWith(id, prefactor.TokenStatusRevoked), tokenWith(id+"2", prefactor.TokenStatusRevoked))
		decodeToken(t, call(t, srv, http.MethodDelete, tokenPath(id)+"?idempotency_key=from-query", `{"idempotency_key":"from-body"}`), http.StatusOK)
		// from-query is unused: another delete may take it.
		decodeToken(t, call(t, srv, http.MethodDelete, tokenPath(id+"2")+"?idempotency_key=from-query", ""), http.StatusOK)
		// from-body is taken by the first delete.
		e := decodeError(t, call(t, srv, http.MethodDelete, tokenPath(id+"2"), `{"idempotency_key":"from-body"}`), http.StatusUnprocessableEntity)
		if e.Code != string(prefactor.CodeIdempotencyKeyAlreadyUsed) {
			t.Errorf("from-body reused: %+v", e)
		}
	})

	t.Run("keys belong to one server", func(t *testing.T) {
		body := `{"details":{"token_scope":"account"},"idempotency_key":"shared"}`
		a, b := lcServer(t), lcServer(t)
		decodeToken(t, call(t, a, http.MethodPost, listPath, body), http.StatusCreated)
		decodeToken(t, call(t, b, http.MethodPost, listPath, `{"details":{"token_scope":"environment","environment_id":"e"},"idempotency_key":"shared"}`), http.StatusCreated)
		if len(a.Tokens()) != 1 || len(b.Tokens()) != 1 {
			t.Error("want one token on each server")
		}
	})

	t.Run("concurrent creates with one key make one token", func(t *testing.T) {
		srv := lcServer(t)
		c := srv.Client()
		const n = 8
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := c.APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount},
					prefactor.WithIdempotencyKey("race"))
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = tok.ID + " " + tok.Token.Reveal()
			}()
		}
		wg.Wait()
		if len(srv.Tokens()) != 1 || len(slices.Compact(got)) != 1 {
			t.Errorf("%d tokens; answers %q", len(srv.Tokens()), slices.Compact(got))
		}
	})
}

func TestSDKLifecycleAgainstTheFake(t *testing.T) {
	ctx := context.Background()
	srv := lcServer(t, prefactortest.FakeTokens(3)...)
	c := srv.Client(prefactor.WithMaxRetries(0))

	expiry := clockTime.Add(30 * 24 * time.Hour)
	created, err := c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{
		TokenScope: prefactor.TokenScopeEnvironment, EnvironmentID: "env-1", ExpiresAt: &expiry,
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != prefactor.TokenStatusActive || !created.ExpiresAt.Equal(expiry) || *created.EnvironmentID != "env-1" {
		t.Errorf("created %+v", created.APIToken)
	}
	checkTokenValue(t, created.Token.Reveal(), created.APIToken)
	if fmt.Sprint(created.Token) != "[REDACTED]" {
		t.Errorf("value printed as %v", created.Token)
	}
	id := created.ID

	got, err := c.APITokens.Get(ctx, id)
	if err != nil || !sameJSON(t, *got, created.APIToken) {
		t.Fatalf("Get = %+v, %v; want the created token", got, err)
	}

	// Each step moves the token at a later time.
	step := func(name string, h int, f func(context.Context, string, ...prefactor.RequestOption) (*prefactor.APIToken, error), want prefactor.TokenStatus) {
		t.Helper()
		at := clockTime.Add(time.Duration(h) * time.Hour)
		srv.SetClock(func() time.Time { return at })
		tok, err := f(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tok.Status != want || !tok.UpdatedAt.Equal(at) || !tok.InsertedAt.Equal(clockTime) {
			t.Errorf("%s: %s updated %v, want %s updated %v", name, tok.Status, tok.UpdatedAt, want, at)
		}
		if g, _ := c.APITokens.Get(ctx, id); g == nil || !sameJSON(t, g, tok) {
			t.Errorf("%s: Get disagrees with the answer: %+v", name, g)
		}
	}
	step("suspend", 1, c.APITokens.Suspend, prefactor.TokenStatusSuspended)
	step("activate", 2, c.APITokens.Activate, prefactor.TokenStatusActive)

	// A refused move is a typed error.
	err = c.APITokens.Delete(ctx, id)
	if e := apiError(t, err); e.StatusCode != http.StatusUnprocessableEntity || e.Code != prefactor.CodeInvalidAction || !strings.Contains(e.Message, "revoke it first") {
		t.Errorf("Delete of an active token: %v", err)
	}
	_, err = c.APITokens.Activate(ctx, id)
	if e := apiError(t, err); e.Code != prefactor.CodeInvalidAction {
		t.Errorf("Activate of an active token: %v", err)
	}

	step("revoke", 3, c.APITokens.Revoke, prefactor.TokenStatusRevoked)
	if err := c.APITokens.Delete(ctx, id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.APITokens.Get(ctx, id); !errors.Is(err, prefactor.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	all, err := collect(ctx, c, nil)
	if err != nil || len(all) != 2 || slices.Contains(ids(all), id) { // FakeTokens(3) holds 2 of the caller's account
		t.Errorf("list after delete: %v, %v", ids(all), err)
	}

	// Every mutation sent a key; a generated one, different for each call.
	keys := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet {
			continue
		}
		k := requestKey(t, r)
		if k == "" || keys[k] {
			t.Errorf("%s %s: key %q missing or reused", r.Method, r.Path, k)
		}
		keys[k] = true
	}
	if len(keys) != 7 {
		t.Errorf("%d mutations with keys, want 7", len(keys))
	}
}

// TestSDKAgentFieldsEndToEnd walks agent_id, agent_deployment_id and
// available_actions from the fake through the SDK: list summaries carry
// the agent fields and no actions, the one-token answers both.
func TestSDKAgentFieldsEndToEnd(t *testing.T) {
	ctx := context.Background()
	samples := prefactortest.FakeTokens(42)
	srv := lcServer(t, samples...)
	c := srv.Client(prefactor.WithMaxRetries(0))

	listed, err := collect(ctx, c, &prefactor.ListAPITokensOptions{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := callersTokens(samples); !sameJSON(t, listed, want) {
		t.Fatalf("List gave %v, want the samples of the caller's account %v", ids(listed), ids(want))
	}
	var agentToken *prefactor.APIToken
	for _, tok := range listed {
		if tok.AvailableActions != nil {
			t.Errorf("List: token %s has AvailableActions; summaries carry none", tok.ID)
		}
		if tok.TokenScope == prefactor.TokenScopeAgentDeployment && tok.Status == prefactor.TokenStatusActive && agentToken == nil {
			agentToken = tok
		}
	}
	if agentToken == nil || agentToken.AgentID == nil || agentToken.AgentDeploymentID == nil || agentToken.EnvironmentID == nil {
		t.Fatalf("no active agent_deployment token with its agent, deployment and environment in the list: %+v", agentToken)
	}

	// Get: each token as listed, plus the actions of its status.
	for _, tok := range listed {
		got, err := c.APITokens.Get(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got, detailed(*tok)) {
			t.Errorf("Get(%s) = %+v, want %+v", tok.ID, got, detailed(*tok))
		}
	}

	// Create for the same agent and environment: the token joins the
	// agent's deployment there.
	created, err := c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{
		TokenScope: prefactor.TokenScopeAgentDeployment, AgentID: *agentToken.AgentID, EnvironmentID: *agentToken.EnvironmentID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.AgentID == nil || *created.AgentID != *agentToken.AgentID ||
		created.AgentDeploymentID == nil || *created.AgentDeploymentID != *agentToken.AgentDeploymentID ||
		!reflect.DeepEqual(created.AvailableActions, wantActions(prefactor.TokenStatusActive)) {
		t.Errorf("Create: %+v, want agent %s, deployment %s and the actions of an active token",
			created.APIToken, *agentToken.AgentID, *agentToken.AgentDeploymentID)
	}

	// Revoke: the agent fields stay, the actions follow the status.
	revoked, err := c.APITokens.Revoke(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, revoked.AgentID, created.AgentID) || !sameJSON(t, revoked.AgentDeploymentID, created.AgentDeploymentID) ||
		!reflect.DeepEqual(revoked.AvailableActions, &prefactor.TokenActions{Delete: true}) {
		t.Errorf("Revoke: %+v, want the same agent and deployment, and delete as the only action", *revoked)
	}
	if err := c.APITokens.Delete(ctx, created.ID); err != nil {
		t.Fatalf("Delete after the actions allowed it: %v", err)
	}
	if after, err := collect(ctx, c, nil); err != nil || !sameJSON(t, after, listed) {
		t.Errorf("List after create, revoke and delete: %v, %v; want the list as before", ids(after), err)
	}
}

// requestKey returns the idempotency key r carried, in its body or query.
func requestKey(t *testing.T, r prefactortest.Request) string {
	t.Helper()
	if r.Body == nil {
		return r.Query.Get("idempotency_key")
	}
	var b struct {
		Key string `json:"idempotency_key"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("%s %s: body %s: %v", r.Method, r.Path, r.Body, err)
	}
	return b.Key
}

func TestRetriedMutationsHappenOnce(t *testing.T) {
	ctx := context.Background()

	t.Run("create after a 503", func(t *testing.T) {
		srv := lcServer(t, prefactortest.FakeTokens(2)...)
		srv.FailNext(1, prefactortest.Fault{Status: http.StatusServiceUnavailable})
		created, err := srv.Client().APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
		if err != nil {
			t.Fatal(err)
		}
		store := srv.Tokens()
		if len(store) != 3 || store[2].ID != created.ID {
			t.Errorf("store %v, want the two samples and %s", ids(store), created.ID)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2 (the failed one and its retry)", len(reqs))
		}
		if k0, k1 := requestKey(t, reqs[0]), requestKey(t, reqs[1]); k0 == "" || k0 != k1 || !bytes.Equal(reqs[0].Body, reqs[1].Body) {
			t.Errorf("the attempts sent keys %q and %q, bodies %s and %s; want one key, one body", k0, k1, reqs[0].Body, reqs[1].Body)
		}
	})

	t.Run("create repeated with the caller's key", func(t *testing.T) {
		// What a retry after a lost answer looks like to the server.
		srv := lcServer(t)
		c := srv.Client()
		req := &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount}
		first, err := c.APITokens.Create(ctx, req, prefactor.WithIdempotencyKey("nightly-2026-04-01"))
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.APITokens.Create(ctx, req, prefactor.WithIdempotencyKey("nightly-2026-04-01"))
		if err != nil {
			t.Fatal(err)
		}
		if first.ID != second.ID || first.Token.Reveal() != second.Token.Reveal() || len(srv.Tokens()) != 1 {
			t.Errorf("two creates with one key: %s and %s, %d tokens", first.ID, second.ID, len(srv.Tokens()))
		}
		_, err = c.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeEnvironment, EnvironmentID: "e"},
			prefactor.WithIdempotencyKey("nightly-2026-04-01"))
		if e := apiError(t, err); e.Code != prefactor.CodeIdempotencyKeyAlreadyUsed || e.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("other request, same key: %v", err)
		}
	})

	t.Run("moves and delete after faults", func(t *testing.T) {
		const id = "01kt0000000000000000000000000001"
		srv := lcServer(t, tokenWith(id, prefactor.TokenStatusActive))
		c := srv.Client()
		steps := []struct {
			name string
			f    func() error
		}{
			{"suspend", func() error { _, err := c.APITokens.Suspend(ctx, id); return err }},
			{"activate", func() error { _, err := c.APITokens.Activate(ctx, id); return err }},
			{"revoke", func() error { _, err := c.APITokens.Revoke(ctx, id); return err }},
			{"delete", func() error { return c.APITokens.Delete(ctx, id) }},
		}
		for _, s := range steps {
			before := len(srv.Requests())
			srv.FailNext(1, prefactortest.Fault{Status: http.StatusBadGateway})
			srv.FailNext(1, prefactortest.Fault{Disconnect: true})
			if err := s.f(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			reqs := srv.Requests()[before:]
			if len(reqs) != 3 {
				t.Fatalf("%s: %d attempts, want 3", s.name, len(reqs))
			}
			k := requestKey(t, reqs[0])
			for _, r := range reqs {
				if requestKey(t, r) != k || k == "" {
					t.Errorf("%s: attempts carried keys %q and %q", s.name, k, requestKey(t, r))
				}
			}
		}
		if n := len(srv.Tokens()); n != 0 {
			t.Errorf("%d tokens left", n)
		}
	})
}

func TestClockDefaultsToNow(t *testing.T) {
	srv := prefactortest.NewServer(t)
	srv.SetClock(fixedClock)
	srv.SetClock(nil) // back to time.Now
	before := time.Now().Add(-time.Millisecond)
	created, err := srv.Client().APITokens.Create(context.Background(), &prefactor.CreateAPITokenRequest{TokenScope: prefactor.TokenScopeAccount})
	after := time.Now().Add(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if created.InsertedAt.Before(before) || created.InsertedAt.After(after) || created.InsertedAt.Location() != time.UTC {
		t.Errorf("inserted_at %v, want UTC between %v and %v", created.InsertedAt, before, after)
	}
	if d := created.ExpiresAt.Sub(created.InsertedAt); d != prefactortest.DefaultTokenLifetime {
		t.Errorf("lifetime %v, want %v", d, prefactortest.DefaultTokenLifetime)
	}
}
