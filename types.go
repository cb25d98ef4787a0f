package prefactor

import "time"

// TokenStatus is the state of an API token. Values the SDK does not know yet
// are kept as the server sent them.
type TokenStatus string

// Token statuses the API documents.
const (
	TokenStatusActive    TokenStatus = "active"
	TokenStatusSuspended TokenStatus = "suspended"
	TokenStatusRevoked   TokenStatus = "revoked"
)

// TokenScope says what an API token may act on. Values the SDK does not know
// yet are kept as the server sent them.
type TokenScope string

// Token scopes the API documents.
const (
	TokenScopeAccount         TokenScope = "account"
	TokenScopeEnvironment     TokenScope = "environment"
	TokenScopeAgentDeployment TokenScope = "agent_deployment"
)

// APIToken is one API token as the API describes it: the list endpoint's
// summary fields and, in the answers of get, create and the state changes,
// AvailableActions. It never holds the token's secret value.
type APIToken struct {
	// ID identifies the token, e.g. "013xrzp12g3nqk8n7f8f9jbg8d18q7tm".
	ID string `json:"id"`
	// Type is the resource type; always "api_token".
	Type string `json:"type"`
	// AccountID is the account the token belongs to.
	AccountID string `json:"account_id"`
	// CreatedByAdminUserID is the admin user who created the token, nil when
	// the server sent null.
	CreatedByAdminUserID *string `json:"created_by_admin_user_id"`
	// EnvironmentID is the environment an environment-scoped token is bound
	// to, nil when the server sent null.
	EnvironmentID *string `json:"environment_id"`
	// ExpiresAt is when the token stops working.
	ExpiresAt time.Time `json:"expires_at"`
	// InsertedAt is when the token was created.
	InsertedAt time.Time `json:"inserted_at"`
	// UpdatedAt is when the token was last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// LastUsedAt is when the token last authenticated a request, nil when it
	// never has.
	LastUsedAt *time.Time `json:"last_used_at"`
	// Status is the token's state: active, suspended or revoked.
	Status TokenStatus `json:"status"`
	// TokenScope is what the token may act on: the account, one
	// environment or one agent deployment.
	TokenScope TokenScope `json:"token_scope"`
	// AgentID is the agent an agent_deployment-scoped token acts for, nil
	// when the server sent null or nothing.
	AgentID *string `json:"agent_id"`
	// AgentDeploymentID is the agent deployment an agent_deployment-scoped
	// token is bound to, nil when the server sent null or nothing.
	AgentDeploymentID *string `json:"agent_deployment_id"`
	// AvailableActions is what the service allows on the token now, as
	// get, create and the state changes report it; nil when the answer
	// carried none, as list summaries do not.
	AvailableActions *TokenActions `json:"available_actions,omitempty"`
}

// TokenActions is the API's available_actions object: which lifecycle
// calls the service accepts for a token in its current state. Asking it
// saves hard-coding the lifecycle rules.
type TokenActions struct {
	// Activate is true when [APITokensService.Activate] is allowed.
	Activate bool `json:"activate"`
	// Delete is true when [APITokensService.Delete] is allowed.
	Delete bool `json:"delete"`
	// Revoke is true when [APITokensService.Revoke] is allowed.
	Revoke bool `json:"revoke"`
	// Suspend is true when [APITokensService.Suspend] is allowed.
	Suspend bool `json:"suspend"`
}

// CreatedAPIToken is a token just made by APITokensService.Create: its
// summary and, once only, its value.
//
// Printing it with fmt or logging it with log/slog, or encoding it with
// encoding/json, shows Token redacted; call Token.Reveal for the value.
type CreatedAPIToken struct {
	APIToken
	// Token is the value to authenticate with. The API shows it in the
	// create response only; store it now, it cannot be read back later.
	Token Secret `json:"token"`
}
