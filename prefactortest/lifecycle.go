package prefactortest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// DefaultTokenLifetime is how long a token the fake creates lives when the
// create request sends no expires_at: it expires this long after its
// creation, by the server's clock.
const DefaultTokenLifetime = 90 * 24 * time.Hour

// serverStream picks the pseudo-random stream a Server draws the IDs and
// values of created tokens from; FakeTokens uses other streams of the same
// seed.
const serverStream = 2 << 32

// SetClock makes the server stamp the tokens it creates and changes with
// now() instead of time.Now(); nil goes back to time.Now. The stamps are in
// UTC, to the microsecond. With a fixed clock, the server creates the same
// tokens (IDs and values) in every run; SetClock(ReferenceTime) puts it at
// the time FakeTokens' data is built around. The clock also judges whether
// a create's expires_at is in the future.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// now returns the server's time for a stamp. The caller holds s.mu.
func (s *Server) now() time.Time {
	clock := s.clock
	if clock == nil {
		clock = time.Now
	}
	return clock().UTC().Truncate(time.Microsecond)
}

// tokenBody is the API's success JSON for one token.
type tokenBody struct {
	Status  string             `json:"status"`
	Details prefactor.APIToken `json:"details"`
}

// createdBody is the API's success JSON for a create. Token is a plain
// string: prefactor.Secret would encode redacted.
type createdBody struct {
	Status  string             `json:"status"`
	Details prefactor.APIToken `json:"details"`
	Token   string             `json:"token"`
}

// tokenReply answers with a copy of t and what the lifecycle allows on it.
func tokenReply(status int, t prefactor.APIToken) reply {
	return reply{status: status, body: &tokenBody{Status: "success", Details: detailed(t)}}
}

// detailed returns a copy of t with AvailableActions computed from its
// status by the lifecycle rules, as the API's one-token answers carry it.
func detailed(t prefactor.APIToken) prefactor.APIToken {
	t = cloneToken(t)
	t.AvailableActions = &prefactor.TokenActions{
		Activate: activate.allows(t.Status),
		Delete:   deletion.allows(t.Status),
		Revoke:   revoke.allows(t.Status),
		Suspend:  suspend.allows(t.Status),
	}
	return t
}

// find returns the index of token id in the store, or -1. The caller holds
// s.mu.
func (s *Server) find(id string) int {
	return slices.IndexFunc(s.tokens, func(t prefactor.APIToken) bool { return t.ID == id })
}

func notFound(id string) reply {
	return errorReply(http.StatusNotFound, prefactor.CodeNotFound, fmt.Sprintf("no API token with ID %q", id), nil)
}

// handleGet serves GET /api/v1/api_token/{id}.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	rep := notFound(id)
	if i := s.find(id); i >= 0 {
		rep = tokenReply(http.StatusOK, s.tokens[i])
	}
	status, body := encodeReply(rep)
	s.mu.Unlock()
	writeJSON(w, status, rep.header, body)
}

// lifecycleMove is one of the service's status changes, or the deletion.
type lifecycleMove struct {
	verb string                  // "suspend"
	from []prefactor.TokenStatus // the statuses it applies to
	to   prefactor.TokenStatus   // "" for the deletion
	rule string                  // why another status is refused, for the error message
}

// allows reports whether m applies to a token in status st.
func (m lifecycleMove) allows(st prefactor.TokenStatus) bool { return slices.Contains(m.from, st) }

var (
	suspend = lifecycleMove{
		verb: "suspend",
		from: []prefactor.TokenStatus{prefactor.TokenStatusActive},
		to:   prefactor.TokenStatusSuspended,
		rule: "only an active token can be suspended",
	}
	activate = lifecycleMove{
		verb: "activate",
		from: []prefactor.TokenStatus{prefactor.TokenStatusSuspended},
		to:   prefactor.TokenStatusActive,
		rule: "only a suspended token can be activated",
	}
	revoke = lifecycleMove{
		verb: "revoke",
		from: []prefactor.TokenStatus{prefactor.TokenStatusActive, prefactor.TokenStatusSuspended},
		to:   prefactor.TokenStatusRevoked,
		rule: "only an active or suspended token can be revoked",
	}
	deletion = lifecycleMove{
		verb: "delete",
		from: []prefactor.TokenStatus{prefactor.TokenStatusRevoked},
		rule: "revoke it first: only a revoked token can be deleted",
	}
)

// refused is the API's answer to a move the lifecycle does not allow.
func refused(verb string, t prefactor.APIToken, rule string) reply {
	return errorReply(http.StatusUnprocessableEntity, prefactor.CodeInvalidAction,
		fmt.Sprintf("cannot %s API token %s: it is %s; %s", verb, t.ID, t.Status, rule), nil)
}

// move returns the handler of POST /api/v1/api_token/{id}/{m.verb}.
func (s *Server) move(m lifecycleMove) mutationHandler {
	return func(r *http.Request, _ []byte, now time.Time) reply {
		id := r.PathValue("id")
		i := s.find(id)
		if i < 0 {
			return notFound(id)
		}
		t := &s.tokens[i]
		if !m.allows(t.Status) {
			return refused(m.verb, *t, m.rule)
		}
		t.Status, t.UpdatedAt = m.to, now
		return tokenReply(http.StatusOK, *t)
	}
}

// remove handles DELETE /api/v1/api_token/{id}: a revoked token leaves the
// store, and the answer is 200 with the token as it was deleted, whose
// available actions are all false: nothing can be done to it any more.
func (s *Server) remove(r *http.Request, _ []byte, _ time.Time) reply {
	id := r.PathValue("id")
	i := s.find(id)
	if i < 0 {
		return notFound(id)
	}
	t := s.tokens[i]
	if !deletion.allows(t.Status) {
		return refused(deletion.verb, t, deletion.rule)
	}
	s.tokens = slices.Delete(s.tokens, i, i+1)
	t.AvailableActions = &prefactor.TokenActions{}
	return reply{status: http.StatusOK, body: &tokenBody{Status: "success", Details: t}}
}

// createRequest is the JSON body of a create.
type createRequest struct {
	Details *createDetails `json:"details"`
}

type createDetails struct {
	TokenScope    prefactor.TokenScope `json:"token_scope"`
	AccountID     string               `json:"account_id"`
	AgentID       string               `json:"agent_id"`
	EnvironmentID string               `json:"environment_id"`
	ExpiresAt     string               `json:"expires_at"`
}

// create handles POST /api/v1/api_token.
func (s *Server) create(_ *http.Request, body []byte, now time.Time) reply {
	var req createRequest
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}") // no body: details are missing
	}
	if err := json.Unmarshal(body, &req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			field := typeErr.Field[strings.LastIndex(typeErr.Field, ".")+1:]
			return s.refuseCreate(prefactor.CodeInvalidValue, map[string][]string{field: {"must be " + jsonKind(typeErr.Type.Kind().String())}})
		}
		return errorReply(http.StatusBadRequest, prefactor.CodeBadRequest, "the request body is not a JSON object", nil)
	}
	if req.Details == nil {
		return s.refuseCreate(prefactor.CodeRequiredValue, map[string][]string{"details": {"is required"}})
	}
	d := req.Details
	expires, code, errs := d.check(now)
	if len(errs) > 0 {
		return s.refuseCreate(code, errs)
	}

	t := prefactor.APIToken{
		ID:         fakeID(now, s.rand),
		Type:       "api_token",
		AccountID:  cmp.Or(d.AccountID, AccountID),
		ExpiresAt:  expires,
		InsertedAt: now,
		UpdatedAt:  now,
		Status:     prefactor.TokenStatusActive,
		TokenScope: d.TokenScope,
	}
	if d.EnvironmentID != "" {
		t.EnvironmentID = ptr(d.EnvironmentID)
	}
	if d.TokenScope == prefactor.TokenScopeAgentDeployment {
		key := deploymentKey(d.AgentID, d.EnvironmentID)
		dep, ok := s.deployments[key]
		if !ok {
			dep = fakeID(now, s.rand)
			s.deployments[key] = dep
		}
		t.AgentID, t.AgentDeploymentID = ptr(d.AgentID), ptr(dep)
	}
	s.tokens = append(s.tokens, t)
	return reply{status: http.StatusCreated, body: &createdBody{Status: "success", Details: detailed(t), Token: s.tokenValue(t)}}
}

// refuseCreate answers a create whose body the rules refuse. errs is keyed
// by the field of "details" at fault, or "details" itself. By default the
// answer is 400 with code (required_value or invalid_value) and errs as
// they are; after SetValidationErrors(true) it is 422 validation_errors,
// with the fields of details nested under "details", as the body nests
// them. The caller holds s.mu.
func (s *Server) refuseCreate(code prefactor.ErrorCode, errs map[string][]string) reply {
	if !s.validationErrors {
		return fieldErrorReply(code, errs)
	}
	nested, inner := map[string]any{}, map[string][]string{}
	parts := make([]string, 0, len(errs))
	for _, field := range slices.Sorted(maps.Keys(errs)) {
		path := field
		if field == "details" {
			nested[field] = errs[field]
		} else {
			inner[field] = errs[field]
			path = "details." + field
		}
		parts = append(parts, path+" "+strings.Join(errs[field], ", "))
	}
	if len(inner) > 0 {
		nested["details"] = inner
	}
	return reply{status: http.StatusUnprocessableEntity, body: &errorBody{
		Status:  "error",
		Code:    prefactor.CodeValidationErrors,
		Message: "validation failed: " + strings.Join(parts, "; "),
		Errors:  nested,
	}}
}

// SetValidationErrors chooses how a create's refused body is answered: by
// default (false) 400 required_value or invalid_value with one entry per
// field in "errors", as the fake's other refusals; with true, the API's
// other error form, 422 validation_errors, whose "errors" nest as the body
// does: {"details":{"agent_id":["is required …"]}}, and "details" itself
// as a field when it is missing or not an object. Only create's details
// are affected: a bad idempotency key or list parameter keeps the default.
func (s *Server) SetValidationErrors(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validationErrors = on
}

// check applies the service's rules to a create request. It returns the
// expiry, or the error code and the error per field.
func (d *createDetails) check(now time.Time) (time.Time, prefactor.ErrorCode, map[string][]string) {
	errs := map[string][]string{}
	missing := false
	require := func(field, value, why string) {
		if strings.TrimSpace(value) == "" {
			errs[field] = append(errs[field], why)
			missing = true
		}
	}
	forbid := func(field, value string, scopes string) {
		if value != "" {
			errs[field] = append(errs[field], "is only accepted with token_scope "+scopes)
		}
	}

	switch d.TokenScope {
	case "":
		require("token_scope", "", "is required")
	case prefactor.TokenScopeAccount:
		forbid("environment_id", d.EnvironmentID, "environment or agent_deployment")
		forbid("agent_id", d.AgentID, "agent_deployment")
	case prefactor.TokenScopeEnvironment:
		require("environment_id", d.EnvironmentID, "is required for token_scope environment")
		forbid("agent_id", d.AgentID, "agent_deployment")
	case prefactor.TokenScopeAgentDeployment:
		require("agent_id", d.AgentID, "is required for token_scope agent_deployment")
		require("environment_id", d.EnvironmentID, "is required for token_scope agent_deployment")
	default:
		errs["token_scope"] = []string{fmt.Sprintf("is %q; must be one of account, environment, agent_deployment", d.TokenScope)}
	}

	expires := now.Add(DefaultTokenLifetime)
	if d.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, d.ExpiresAt)
		switch {
		case err != nil:
			errs["expires_at"] = []string{"must be an RFC 3339 date-time, like 2026-01-31T12:00:00Z"}
		case !t.After(now):
			errs["expires_at"] = []string{"must be in the future"}
		default:
			expires = t.UTC()
		}
	}

	code := prefactor.CodeInvalidValue
	if missing {
		code = prefactor.CodeRequiredValue
	}
	return expires, code, errs
}

// jwtHeader is the first segment of the token values the fake makes.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// tokenClaims is the payload of a token value the fake makes.
type tokenClaims struct {
	Subject   string `json:"sub"` // the token's ID
	IssuedAt  int64  `json:"iat"` // its creation, in Unix seconds
	ExpiresAt int64  `json:"exp"` // its expiry, in Unix seconds
}

// tokenValue returns the value of the new token t, shaped like the API's:
// a JWT, three base64url segments joined by dots, whose payload names t
// and whose signature is 32 bytes of the server's seeded generator. The
// caller holds s.mu.
func (s *Server) tokenValue(t prefactor.APIToken) string {
	// Strings and integers always encode.
	payload, _ := json.Marshal(tokenClaims{
		Subject:   t.ID,
		IssuedAt:  t.InsertedAt.Unix(),
		ExpiresAt: t.ExpiresAt.Unix(),
	})
	var sig [32]byte
	for i := 0; i < len(sig); i += 8 {
		binary.LittleEndian.PutUint64(sig[i:], s.rand.Uint64())
	}
	enc := base64.RawURLEncoding
	return jwtHeader + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig[:])
}

// jsonKind names the JSON type that decodes into a Go kind.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	default:
		return "a " + goKind
	}
}
