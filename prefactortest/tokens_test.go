package prefactortest_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// idPattern is a 32-character lowercase Crockford base32 ID.
var idPattern = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{32}$`)

// idMillis decodes the time prefix of an ID: its first ten characters are
// Unix milliseconds in Crockford base32.
func idMillis(id string) int64 {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var ms int64
	for _, c := range id[:10] {
		ms = ms*32 + int64(strings.IndexRune(alphabet, c))
	}
	return ms
}

func TestFakeTokensAreDeterministic(t *testing.T) {
	for _, n := range []int{1, 3, 42, 250} {
		if !sameJSON(t, prefactortest.FakeTokens(n), prefactortest.FakeTokens(n)) {
			t.Errorf("FakeTokens(%d) differs between calls", n)
		}
	}
	for _, n := range []int{0, -1} {
		if got := prefactortest.FakeTokens(n); got == nil || len(got) != 0 {
			t.Errorf("FakeTokens(%d) = %v, want an empty slice", n, got)
		}
	}
}

func TestFakeTokensAreRealistic(t *testing.T) {
	ref := prefactortest.ReferenceTime()
	for _, n := range []int{42, 1000} {
		tokens := prefactortest.FakeTokens(n)
		if len(tokens) != n {
			t.Fatalf("FakeTokens(%d) returned %d", n, len(tokens))
		}
		if !slices.IsSortedFunc(tokens, func(a, b prefactor.APIToken) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("FakeTokens(%d) is not sorted by ID", n)
		}

		seen := map[string]bool{}
		envAccount := map[string]string{}   // environment → its account
		deployments := map[string]string{}  // agent + environment → deployment
		deploymentOf := map[string]string{} // deployment → agent + environment
		statuses := map[prefactor.TokenStatus]int{}
		scopes := map[prefactor.TokenScope]int{}
		accounts := map[string]int{}
		var neverUsed, unused90, expired, expiring30, noCreator int
		for _, tok := range tokens {
			if !idPattern.MatchString(tok.ID) || seen[tok.ID] {
				t.Errorf("ID %q is malformed or repeated", tok.ID)
			}
			seen[tok.ID] = true
			for _, id := range []*string{&tok.AccountID, tok.EnvironmentID, tok.CreatedByAdminUserID, tok.AgentID, tok.AgentDeploymentID} {
				if id != nil && !idPattern.MatchString(*id) {
					t.Errorf("token %s: related ID %q is malformed", tok.ID, *id)
				}
			}
			if got, want := idMillis(tok.ID), tok.InsertedAt.UnixMilli(); got != want {
				t.Errorf("token %s: ID time prefix %d, want InsertedAt %d", tok.ID, got, want)
			}
			if tok.Type != "api_token" {
				t.Errorf("token %s: Type %q", tok.ID, tok.Type)
			}
			if !tok.InsertedAt.Before(ref) || tok.UpdatedAt.Before(tok.InsertedAt) || tok.UpdatedAt.After(ref) || !tok.ExpiresAt.After(tok.InsertedAt) {
				t.Errorf("token %s: inserted %s, updated %s, expires %s out of order around %s", tok.ID, tok.InsertedAt, tok.UpdatedAt, tok.ExpiresAt, ref)
			}
			for _, ts := range []time.Time{tok.InsertedAt, tok.UpdatedAt, tok.ExpiresAt} {
				if ts.Location() != time.UTC || ts.Nanosecond() != 0 {
					t.Errorf("token %s: time %s is not whole seconds UTC", tok.ID, ts)
				}
			}
			if tok.AvailableActions != nil {
				t.Errorf("token %s: AvailableActions set; list summaries have none", tok.ID)
			}
			if (tok.TokenScope == prefactor.TokenScopeAgentDeployment) != (tok.AgentID != nil && tok.AgentDeploymentID != nil) ||
				(tok.AgentID == nil) != (tok.AgentDeploymentID == nil) {
				t.Errorf("token %s: scope %s with AgentID %v and AgentDeploymentID %v", tok.ID, tok.TokenScope, tok.AgentID, tok.AgentDeploymentID)
			}
			switch tok.TokenScope {
			case prefactor.TokenScopeEnvironment, prefactor.TokenScopeAgentDeployment:
				if tok.EnvironmentID == nil {
					t.Errorf("token %s: %s scope without EnvironmentID", tok.ID, tok.TokenScope)
				} else if acct, ok := envAccount[*tok.EnvironmentID]; ok && acct != tok.AccountID {
					t.Errorf("environment %s belongs to two accounts", *tok.EnvironmentID)
				} else {
					envAccount[*tok.EnvironmentID] = tok.AccountID
				}
				if tok.AgentID != nil && tok.EnvironmentID != nil && tok.AgentDeploymentID != nil {
					pair, dep := *tok.AgentID+"/"+*tok.EnvironmentID, *tok.AgentDeploymentID
					if d, ok := deployments[pair]; ok && d != dep {
						t.Errorf("agent and environment %s have deployments %s and %s", pair, d, dep)
					}
					if p, ok := deploymentOf[dep]; ok && p != pair {
						t.Errorf("deployment %s belongs to %s and %s", dep, p, pair)
					}
					deployments[pair], deploymentOf[dep] = dep, pair
				}
			case prefactor.TokenScopeAccount:
				if tok.EnvironmentID != nil {
					t.Errorf("token %s: account scope with EnvironmentID", tok.ID)
				}
			default:
				t.Errorf("token %s: scope %q", tok.ID, tok.TokenScope)
			}
			statuses[tok.Status]++
			scopes[tok.TokenScope]++
			accounts[tok.AccountID]++
			if tok.CreatedByAdminUserID == nil {
				noCreator++
			}
			if tok.LastUsedAt == nil {
				neverUsed++
			} else {
				if tok.LastUsedAt.Before(tok.InsertedAt) || tok.LastUsedAt.After(ref) || tok.LastUsedAt.After(tok.ExpiresAt) {
					t.Errorf("token %s: last used %s outside its life", tok.ID, tok.LastUsedAt)
				}
				if tok.Status != prefactor.TokenStatusActive && tok.LastUsedAt.After(tok.UpdatedAt) {
					t.Errorf("token %s: %s but used after it changed status", tok.ID, tok.Status)
				}
				if ref.Sub(*tok.LastUsedAt) > 90*24*time.Hour {
					unused90++
				}
			}
			switch left := tok.ExpiresAt.Sub(ref); {
			case left < 0:
				expired++
			case left <= 30*24*time.Hour:
				expiring30++
			}
		}

		for _, st := range []prefactor.TokenStatus{prefactor.TokenStatusActive, prefactor.TokenStatusSuspended, prefactor.TokenStatusRevoked} {
			if statuses[st] == 0 {
				t.Errorf("FakeTokens(%d): no %s token", n, st)
			}
		}
		if statuses[prefactor.TokenStatusActive] <= n/2 {
			t.Errorf("FakeTokens(%d): %d active; want most", n, statuses[prefactor.TokenStatusActive])
		}
		if scopes[prefactor.TokenScopeAccount] == 0 || scopes[prefactor.TokenScopeEnvironment] == 0 || scopes[prefactor.TokenScopeAgentDeployment] == 0 {
			t.Errorf("FakeTokens(%d): scopes %v; want all three", n, scopes)
		}
		if len(deployments) < 2 {
			t.Errorf("FakeTokens(%d): %d agent deployments; want several", n, len(deployments))
		}
		if len(accounts) < 2 {
			t.Errorf("FakeTokens(%d): %d accounts; want more than one", n, len(accounts))
		}
		for name, count := range map[string]int{"never used": neverUsed, "unused for 90 days": unused90, "expired": expired, "expiring within 30 days": expiring30, "without creator": noCreator} {
			if count == 0 {
				t.Errorf("FakeTokens(%d): no token %s", n, name)
			}
		}
	}
}

func TestFewFakeTokensAreMixed(t *testing.T) {
	tokens := prefactortest.FakeTokens(3)
	statuses, scopes, accounts, neverUsed := map[prefactor.TokenStatus]bool{}, map[prefactor.TokenScope]bool{}, map[string]bool{}, false
	for _, tok := range tokens {
		statuses[tok.Status], scopes[tok.TokenScope], accounts[tok.AccountID] = true, true, true
		neverUsed = neverUsed || tok.LastUsedAt == nil
	}
	if len(statuses) < 2 || len(scopes) < 2 || len(accounts) < 2 || !neverUsed {
		t.Errorf("FakeTokens(3) is too uniform: statuses %v, scopes %v, %d accounts, never used %v", statuses, scopes, len(accounts), neverUsed)
	}
}
