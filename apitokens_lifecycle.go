package prefactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	opGetAPIToken      = "get API token"
	opCreateAPIToken   = "create API token"
	opSuspendAPIToken  = "suspend API token"
	opActivateAPIToken = "activate API token"
	opRevokeAPIToken   = "revoke API token"
	opDeleteAPIToken   = "delete API token"

	apiTokensPath = "api/v1/api_token"
)

// CreateAPITokenRequest describes the token Create makes. Empty optional
// fields are left out of the request, so the server applies its defaults.
type CreateAPITokenRequest struct {
	// TokenScope is what the token may act on. Required.
	TokenScope TokenScope
	// AccountID is the account the token belongs to; "" means the calling
	// token's own account.
	AccountID string
	// AgentID is the agent of an agent_deployment-scoped token; required
	// for that scope.
	AgentID string
	// EnvironmentID is the environment of an environment- or
	// agent_deployment-scoped token; required for agent_deployment.
	EnvironmentID string
	// ExpiresAt is when the token stops working; nil (or the zero time)
	// leaves it to the server. It is sent in UTC as RFC 3339 with whole
	// seconds ("2025-01-31T12:00:00Z"); a fraction of a second is dropped.
	// A time in the past is sent as is: the server decides.
	ExpiresAt *time.Time
}

// validate reports a request the API could not accept, before anything is
// sent. Values the SDK does not know (a new scope, say) are left to the
// server.
func (r *CreateAPITokenRequest) validate() error {
	switch {
	case r == nil:
		return errors.New("nil *CreateAPITokenRequest")
	case strings.TrimSpace(string(r.TokenScope)) == "":
		return errors.New("TokenScope is required")
	case r.TokenScope == TokenScopeAgentDeployment && strings.TrimSpace(r.AgentID) == "":
		return fmt.Errorf("AgentID is required for scope %q", r.TokenScope)
	case r.TokenScope == TokenScopeAgentDeployment && strings.TrimSpace(r.EnvironmentID) == "":
		return fmt.Errorf("EnvironmentID is required for scope %q", r.TokenScope)
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.IsZero() {
		if y := r.ExpiresAt.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("ExpiresAt year %d is outside 0..9999, which RFC 3339 cannot express", y)
		}
	}
	return nil
}

// createAPITokenBody is the JSON body of a create call.
type createAPITokenBody struct {
	Details        createAPITokenDetails `json:"details"`
	IdempotencyKey string                `json:"idempotency_key"`
}

type createAPITokenDetails struct {
	TokenScope    TokenScope `json:"token_scope"`
	AccountID     string     `json:"account_id,omitempty"`
	AgentID       string     `json:"agent_id,omitempty"`
	EnvironmentID string     `json:"environment_id,omitempty"`
	ExpiresAt     string     `json:"expires_at,omitempty"`
}

func newCreateAPITokenBody(r *CreateAPITokenRequest, key string) *createAPITokenBody {
	b := &createAPITokenBody{
		Details: createAPITokenDetails{
			TokenScope:    r.TokenScope,
			AccountID:     r.AccountID,
			AgentID:       r.AgentID,
			EnvironmentID: r.EnvironmentID,
		},
		IdempotencyKey: key,
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.IsZero() {
		b.Details.ExpiresAt = r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return b
}

// idempotencyKeyBody is the JSON body of suspend, activate, revoke and
// delete.
type idempotencyKeyBody struct {
	IdempotencyKey string `json:"idempotency_key"`
}

// apiTokenResponse is the body of a successful get, suspend, activate or
// revoke call.
type apiTokenResponse struct {
	Status  string    `json:"status"`
	Details *APIToken `json:"details"`
}

func (r *apiTokenResponse) check() error {
	if err := checkStatus(r.Status); err != nil {
		return err
	}
	if r.Details == nil {
		return errors.New("no details in the response")
	}
	return nil
}

// createAPITokenResponse is the body of a successful create call.
type createAPITokenResponse struct {
	apiTokenResponse
	Token Secret `json:"token"`
}

func (r *createAPITokenResponse) check() error {
	if err := r.apiTokenResponse.check(); err != nil {
		return err
	}
	if r.Token == "" {
		return errors.New("no token value in the response")
	}
	return nil
}

// tokenPath returns the escaped path of token id, plus action when given:
// "api/v1/api_token/<id>/revoke". id is escaped as one path segment, so "/",
// "?", "#" and "%" in it stay inside that segment. "." and ".." are refused
// rather than escaped: servers and proxies may decode "%2E%2E" and resolve
// it as a dot segment, which would request another path.
func tokenPath(id, action string) (string, error) {
	switch {
	case strings.TrimSpace(id) == "":
		return "", errors.New("empty token ID")
	case id == "." || id == "..":
		return "", fmt.Errorf("token ID %q is a path dot segment, not an ID", id)
	}
	p := apiTokensPath + "/" + url.PathEscape(id)
	if action != "" {
		p += "/" + action
	}
	return p, nil
}

// Get returns one API token: GET /api/v1/api_token/{id}.
//
// The id is checked and escaped as [APITokensService] describes; an unknown
// id gives an *APIError matching [ErrNotFound].
func (s *APITokensService) Get(ctx context.Context, id string, opts ...RequestOption) (*APIToken, error) {
	p, cfg, err := tokenCall(id, "", opts)
	if err != nil {
		return nil, invalidArgument(opGetAPIToken, err)
	}
	var resp apiTokenResponse
	err = s.client.do(ctx, &apiRequest{
		op:           opGetAPIToken,
		method:       http.MethodGet,
		path:         p,
		idempotent:   true,
		responseInto: cfg.responseInto,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return resp.Details, nil
}

// Create makes a new API token: POST /api/v1/api_token with the JSON body
// {"details": {"token_scope": …, "account_id", "agent_id", "environment_id",
// "expires_at"}, "idempotency_key": …}, empty optional fields left out.
//
// The result holds the token's summary and its value, a [Secret]: the API
// shows the value in this response only, so keep it now. Store it with
// Token.Reveal(); printing or logging the result shows it redacted.
//
// req is checked first: a nil req, an empty TokenScope, or an
// agent_deployment scope without AgentID and EnvironmentID gives an error
// matching [ErrInvalidArgument] and nothing is sent. A response without the
// token's details or value is a decoding error naming the operation. The
// server's refusals (an unknown agent, an expiry in the past) are
// *APIErrors, typically [CodeInvalidValue], [CodeRequiredValue] or
// [CodeValidationErrors].
func (s *APITokensService) Create(ctx context.Context, req *CreateAPITokenRequest, opts ...RequestOption) (*CreatedAPIToken, error) {
	if err := req.validate(); err != nil {
		return nil, invalidArgument(opCreateAPIToken, err)
	}
	cfg, err := newRequestConfig(opts)
	if err != nil {
		return nil, invalidArgument(opCreateAPIToken, err)
	}
	var resp createAPITokenResponse
	err = s.client.do(ctx, &apiRequest{
		op:           opCreateAPIToken,
		method:       http.MethodPost,
		path:         apiTokensPath,
		body:         newCreateAPITokenBody(req, cfg.mutationKey()),
		idempotent:   true,
		responseInto: cfg.responseInto,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return &CreatedAPIToken{APIToken: *resp.Details, Token: resp.Token}, nil
}

// Suspend stops an active token from authenticating until Activate:
// POST /api/v1/api_token/{id}/suspend. It returns the token as the server
// left it.
func (s *APITokensService) Suspend(ctx context.Context, id string, opts ...RequestOption) (*APIToken, error) {
	return s.transition(ctx, opSuspendAPIToken, id, "suspend", opts)
}

// Activate lets a suspended token authenticate again:
// POST /api/v1/api_token/{id}/activate. It returns the token as the server
// left it.
func (s *APITokensService) Activate(ctx context.Context, id string, opts ...RequestOption) (*APIToken, error) {
	return s.transition(ctx, opActivateAPIToken, id, "activate", opts)
}

// Revoke ends a token for good: POST /api/v1/api_token/{id}/revoke. It
// returns the token as the server left it; a revoked token never
// authenticates again and can only be deleted.
func (s *APITokensService) Revoke(ctx context.Context, id string, opts ...RequestOption) (*APIToken, error) {
	return s.transition(ctx, opRevokeAPIToken, id, "revoke", opts)
}

// Delete removes a revoked token: DELETE /api/v1/api_token/{id}. Any 2xx
// status is success, whatever the body.
func (s *APITokensService) Delete(ctx context.Context, id string, opts ...RequestOption) error {
	p, cfg, err := tokenCall(id, "", opts)
	if err != nil {
		return invalidArgument(opDeleteAPIToken, err)
	}
	return s.client.do(ctx, &apiRequest{
		op:           opDeleteAPIToken,
		method:       http.MethodDelete,
		path:         p,
		body:         &idempotencyKeyBody{IdempotencyKey: cfg.mutationKey()},
		idempotent:   true,
		responseInto: cfg.responseInto,
	}, nil)
}

// transition sends POST /api/v1/api_token/{id}/{action} with an idempotency
// key and returns the token the server sends back.
func (s *APITokensService) transition(ctx context.Context, op, id, action string, opts []RequestOption) (*APIToken, error) {
	p, cfg, err := tokenCall(id, action, opts)
	if err != nil {
		return nil, invalidArgument(op, err)
	}
	var resp apiTokenResponse
	err = s.client.do(ctx, &apiRequest{
		op:           op,
		method:       http.MethodPost,
		path:         p,
		body:         &idempotencyKeyBody{IdempotencyKey: cfg.mutationKey()},
		idempotent:   true,
		responseInto: cfg.responseInto,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return resp.Details, nil
}

// tokenCall checks what a call on one token was given: its path, and its
// options.
func tokenCall(id, action string, opts []RequestOption) (string, requestConfig, error) {
	p, err := tokenPath(id, action)
	if err != nil {
		return "", requestConfig{}, err
	}
	cfg, err := newRequestConfig(opts)
	return p, cfg, err
}
