package prefactor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-querystring/query"
	"github.com/hashicorp/go-retryablehttp"
)

// APITokensService lists, creates and manages the account's API tokens: the
// /api/v1/api_token endpoints. Get it from [Client].APITokens. These rules
// hold for all its methods.
//
// # Lifecycle
//
// The service moves a token through its states as follows, and refuses any
// other move with an *APIError whose Code is [CodeInvalidAction] (the SDK
// does not check states itself; [APIToken.AvailableActions], when the
// server sends it, says which moves a token allows):
//
//	method    from                 to
//	Suspend   active               suspended
//	Activate  suspended            active
//	Revoke    active or suspended  revoked (final)
//	Delete    revoked              gone
//
// # IDs
//
// An empty or blank id, or "." or "..", gives an error matching
// [ErrInvalidArgument] and nothing is sent. Any other id is escaped as one
// path segment, so "/", "?", "#" and "%" in it never name another path.
//
// # Idempotency and retries
//
// Every call that changes something (Create, Suspend, Activate, Revoke,
// Delete) carries an idempotency key in its JSON body: the caller's, given
// with [WithIdempotencyKey], or a random one. Every attempt repeats it, so
// the server acts once, and the calls are retried like GETs: on transport
// errors, bodies cut short, 429 and 5xx but 501 (docs/retries.md).
//
// # Errors
//
// Options out of range give an error matching [ErrInvalidArgument] before
// anything is sent. An HTTP error status gives an *APIError (errors.As),
// also when retries are used up; [ErrNotFound] and [ErrRateLimited] match
// the common ones. A transport failure or a malformed body gives an error
// that names the operation; a cancelled ctx gives an error matching
// ctx.Err(). No error holds the bearer token.
type APITokensService struct {
	client *Client
}

// ListAPITokensOptions selects and orders the tokens List and All return.
// The zero value lists the token's own account in the server's order, with
// the server's default page size.
type ListAPITokensOptions struct {
	// AccountID lists another account the token may see; "" means the
	// token's own account. Query parameter account_id.
	AccountID string `url:"account_id,omitempty"`
	// Sort orders the list; the zero Sort leaves it to the server.
	// Query parameter sorting.
	Sort Sort `url:"sorting,omitempty"`
	// Offset is the zero-based index of the first token to return.
	// Query parameter pagination[offset].
	Offset int `url:"pagination[offset],omitempty"`
	// PageSize is how many tokens a page holds, 1 to 100; 0 means the
	// server's default. Query parameter pagination[page_size].
	PageSize int `url:"pagination[page_size],omitempty"`
	// IdempotencyKey, at most 64 characters, is sent as idempotency_key.
	// All sends it with the first page only, so a server that replays by
	// key never hands back page one for a later page.
	IdempotencyKey string `url:"idempotency_key,omitempty"`
}

// The query parameters of ListAPITokensOptions.Offset and PageSize, as
// their url tags name them.
const (
	offsetParam   = "pagination[offset]"
	pageSizeParam = "pagination[page_size]"
)

// validate reports options the API would refuse, before anything is sent.
func (o *ListAPITokensOptions) validate() error {
	switch {
	case o.PageSize < 0 || o.PageSize > maxPageSize:
		return fmt.Errorf("page size %d out of range: want 1..%d, or 0 for the server's default", o.PageSize, maxPageSize)
	case o.Offset < 0:
		return fmt.Errorf("offset %d is negative", o.Offset)
	}
	if err := checkKey(o.IdempotencyKey); err != nil {
		return err
	}
	return o.Sort.validate()
}

// checkKey reports an idempotency key the API could not take as sent: over
// its limit of 64 characters (not bytes), or not valid UTF-8, which JSON
// would rewrite (each bad byte becomes U+FFFD), so that two different keys
// would reach the server as one.
func checkKey(key string) error {
	if !utf8.ValidString(key) {
		return errors.New("idempotency key is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(key); n > maxIdempotencyKeyLen {
		return fmt.Errorf("idempotency key is %d characters long; the limit is %d", n, maxIdempotencyKeyLen)
	}
	return nil
}

// listAPITokensResponse is the body of a successful list call.
type listAPITokensResponse struct {
	Status     string      `json:"status"`
	Summaries  *tokenList  `json:"summaries"`
	Pagination *Pagination `json:"pagination"`
	Sorting    *Sorting    `json:"sorting"`
}

func (r *listAPITokensResponse) check() error {
	if err := checkStatus(r.Status); err != nil {
		return err
	}
	if r.Summaries == nil {
		return errors.New("no summaries in the response")
	}
	// A null entry would reach the caller as a nil *APIToken with a nil
	// error, and the caller's tok.ID would panic.
	for i, tok := range *r.Summaries {
		if tok == nil {
			return fmt.Errorf("summaries[%d] is null", i)
		}
	}
	return nil
}

const opListAPITokens = "list API tokens"

// List returns one page of API tokens: GET /api/v1/api_token.
//
// opts may be nil. Options out of range (see [ListAPITokensOptions]) give an
// error matching [ErrInvalidArgument] and nothing is sent. The other errors
// are described on [APITokensService].
func (s *APITokensService) List(ctx context.Context, opts *ListAPITokensOptions, reqOpts ...RequestOption) (*Page[*APIToken], error) {
	o, cfg, err := listOptions(opts, reqOpts)
	if err != nil {
		return nil, invalidArgument(opListAPITokens, err)
	}
	return s.list(ctx, &o, nil, cfg.responseInto)
}

// listOptions copies opts (nil: the zero options), applies reqOpts and
// checks the result.
func listOptions(opts *ListAPITokensOptions, reqOpts []RequestOption) (ListAPITokensOptions, requestConfig, error) {
	var o ListAPITokensOptions
	if opts != nil {
		o = *opts
	}
	cfg, err := newRequestConfig(reqOpts)
	if err != nil {
		return o, cfg, err
	}
	if cfg.idempotencyKeySet {
		if o.IdempotencyKey != "" && o.IdempotencyKey != cfg.idempotencyKey {
			return o, cfg, errors.New("two different idempotency keys: ListAPITokensOptions.IdempotencyKey and WithIdempotencyKey")
		}
		o.IdempotencyKey = cfg.idempotencyKey
	}
	return o, cfg, o.validate()
}

// list sends a list request with query q: validated options, or their
// url.Values. loop, when not nil, is a parallel walk's retry loop.
func (s *APITokensService) list(ctx context.Context, q any, loop *retryablehttp.Client, into **http.Response) (*Page[*APIToken], error) {
	var resp listAPITokensResponse
	err := s.client.do(ctx, &apiRequest{
		op:           opListAPITokens,
		method:       http.MethodGet,
		path:         apiTokensPath,
		query:        q,
		loop:         loop,
		responseInto: into,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return &Page[*APIToken]{Items: []*APIToken(*resp.Summaries), Pagination: resp.Pagination, Sorting: resp.Sorting}, nil
}

// All returns every API token, page after page, for use in a for-range loop:
//
//	for tok, err := range client.APITokens.All(ctx, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(tok.ID)
//	}
//
// With no Sort it walks in ascending ID order, in pages of 100 unless
// PageSize says otherwise. In ID order, either way, it yields every token
// that exists for the whole walk exactly once and no token twice, also
// while the list changes; in any other order it follows next_page_offset,
// and a change may skip or repeat a token (docs/pagination.md). On the
// first error, [ErrPaginationStalled] included, it yields (nil, err) once
// and stops; breaking out sends no further request. opts is copied; the
// idempotency key goes with the first page only.
func (s *APITokensService) All(ctx context.Context, opts *ListAPITokensOptions, reqOpts ...RequestOption) iter.Seq2[*APIToken, error] {
	o, cfg, err := listOptions(opts, reqOpts)
	return func(yield func(*APIToken, error) bool) {
		if err != nil {
			yield(nil, invalidArgument(opListAPITokens, err))
			return
		}
		if o.Sort.IsZero() {
			o.Sort = Sort{Field: SortByID}
		}
		if o.PageSize == 0 {
			o.PageSize = maxPageSize
		}
		// Pages after the first differ only in their offset and size:
		// encode the rest once for the walk.
		later := o
		later.Offset, later.PageSize, later.IdempotencyKey = 0, 0, ""
		base, err := query.Values(&later)
		if err != nil {
			yield(nil, invalidArgument(opListAPITokens, err))
			return
		}
		var loop *retryablehttp.Client
		if cfg.concurrency > 1 {
			loop = s.client.walkLoop(cfg.concurrency, func(r *http.Request) int {
				n, _ := strconv.Atoi(r.URL.Query().Get(offsetParam))
				return n
			})
		}
		spec := walkSpec[*APIToken]{
			named:       func(err error) error { return s.client.fail(opListAPITokens, err) },
			start:       o.Offset,
			size:        o.PageSize,
			concurrency: cfg.concurrency,
			into:        cfg.responseInto,
			fetch: func(ctx context.Context, r pageRequest) (*Page[*APIToken], *http.Response, error) {
				var q any
				if r.first {
					first := o
					first.Offset, first.PageSize = r.offset, r.size
					q = &first
				} else {
					v := maps.Clone(base)
					if r.offset != 0 {
						v.Set(offsetParam, strconv.Itoa(r.offset))
					}
					v.Set(pageSizeParam, strconv.Itoa(r.size))
					q = v
				}
				var resp *http.Response
				var into **http.Response // only when the caller asked: each copy costs a request clone
				if cfg.responseInto != nil {
					into = &resp
				}
				page, err := s.list(ctx, q, loop, into)
				return page, resp, err
			},
		}
		if o.Sort.Field == SortByID {
			spec.key = func(t *APIToken) string { return t.ID }
			spec.order = Sorting{Field: SortByID, Direction: SortAsc}
			if o.Sort.Direction == SortDesc {
				spec.order.Direction = SortDesc
			}
		}
		allPages(ctx, spec)(yield)
	}
}

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
	if r.Token.Reveal() == "" {
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
