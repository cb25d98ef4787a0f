package prefactortest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// referenceTime is the "now" FakeTokens is built around.
var referenceTime = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)

// ReferenceTime is the instant FakeTokens' data is built around: every
// token was created before it, some expire within 30 days after it, some
// have not been used for 90 days before it. Tests and demos that judge the
// tokens against "now" (expiring soon, unused) should use it as now, so
// their results do not change with the calendar. It is 2026-03-02T09:30:00Z.
func ReferenceTime() time.Time { return referenceTime }

// crockford is Crockford's base32 alphabet in lower case, as the API's IDs
// use it: digits and letters without i, l, o and u.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// fakeID returns a 32-character ID shaped like the service's: ten
// characters of Unix milliseconds (like a ULID), then 22 random ones.
func fakeID(t time.Time, r *rand.Rand) string {
	var b [32]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	for i := 10; i < len(b); i++ {
		b[i] = crockford[r.IntN(len(crockford))]
	}
	return string(b[:])
}

// fakeSeed fixes every pseudo-random choice FakeTokens makes.
const fakeSeed = 0x70726566_6163746f // "prefacto"

// fakeAccount is an account of the fake data, with its environments, the
// admin users who create its tokens, and its agents, each deployed in every
// environment.
type fakeAccount struct {
	id           string
	environments []string
	admins       []string
	agents       []string
	deployments  map[string]string // agent ID + "/" + environment ID → agent deployment ID
}

// AccountID is the account the fake's Token belongs to: the caller's
// account, as far as the fake server and ListResponder are concerned. A
// list without account_id shows its tokens (and tokens with no AccountID);
// a create without account_id puts the new token in it. FakeTokens puts
// most of its tokens in it and the rest in two other accounts.
const AccountID = "01hqz7zee085vspf7cqqtx588y91rt2w"

// fakeAccounts are the three accounts FakeTokens spreads tokens across;
// the first is AccountID (the generator draws it, and a test holds the two
// equal).
var fakeAccounts = func() []fakeAccount {
	r := rand.New(rand.NewPCG(fakeSeed, 1<<32))
	created := referenceTime.AddDate(-2, 0, 0)
	accounts := make([]fakeAccount, 3)
	for i := range accounts {
		at := created.AddDate(0, i*2, i)
		a := fakeAccount{id: fakeID(at, r)}
		for e := range 2 {
			a.environments = append(a.environments, fakeID(at.Add(time.Duration(e+1)*time.Hour), r))
		}
		for u := range 3 {
			a.admins = append(a.admins, fakeID(at.Add(time.Duration(u)*time.Minute), r))
		}
		accounts[i] = a
	}
	// Agents draw from a stream of their own, so they leave the IDs above
	// as they are.
	r = rand.New(rand.NewPCG(fakeSeed, agentStream))
	for i := range accounts {
		a := &accounts[i]
		at := created.AddDate(0, i*2+1, i)
		a.deployments = map[string]string{}
		for g := range 2 {
			agent := fakeID(at.Add(time.Duration(g)*time.Hour), r)
			a.agents = append(a.agents, agent)
			for e, env := range a.environments {
				a.deployments[deploymentKey(agent, env)] = fakeID(at.Add(time.Duration(g)*time.Hour+time.Duration(e+1)*time.Minute), r)
			}
		}
	}
	return accounts
}()

// agentStream is the pseudo-random stream of the sample agents and their
// deployments.
const agentStream = 3 << 32

// deploymentKey is the key of the deployment of agent in environment env.
func deploymentKey(agent, env string) string { return agent + "/" + env }

// The cycles below have coprime lengths, so their combinations vary, and
// they are laid out so that even FakeTokens(3) mixes statuses, scopes,
// accounts and use.
var (
	accountCycle = []int{0, 0, 1, 0, 2} // account A holds most tokens
	statusCycle  = []prefactor.TokenStatus{
		prefactor.TokenStatusActive, prefactor.TokenStatusActive, prefactor.TokenStatusSuspended,
		prefactor.TokenStatusActive, prefactor.TokenStatusRevoked, prefactor.TokenStatusActive,
		prefactor.TokenStatusActive,
	}
	lifetimes = []int{365, 730, 540, 1095} // days from creation to expiry
)

const (
	day = 24 * time.Hour
	// fakeSpan is how far before ReferenceTime the oldest token is created.
	fakeSpan = 420 * day
	// fakeNewest is how long before ReferenceTime the newest one is.
	fakeNewest = 3 * day
)

// FakeTokens returns n realistic API tokens, the same ones on every call
// with the same n, sorted by ID (which is also creation order). n <= 0
// gives none.
//
// Their IDs are 32-character lowercase Crockford base32 strings starting
// with the creation time in milliseconds, like the service's. They spread
// over three accounts (most, 3 in 5, in AccountID) and mix statuses (mostly active,
// some suspended, some revoked), scopes (environment-scoped tokens carry an
// EnvironmentID of their account; agent_deployment-scoped ones, from
// FakeTokens(5) on, one in nine, also an AgentID and the AgentDeploymentID
// of that agent in that environment; account-scoped ones none), tokens never
// used (nil LastUsedAt), used recently and not used for months, created by
// an admin user or not (nil CreatedByAdminUserID), already expired,
// expiring within 30 days and expiring later — all relative to
// ReferenceTime. Creation times spread over the 14 months before it. Like
// the list's summaries, they have no AvailableActions.
func FakeTokens(n int) []prefactor.APIToken {
	if n <= 0 {
		return []prefactor.APIToken{}
	}
	tokens := make([]prefactor.APIToken, n)
	step := (fakeSpan - fakeNewest) / time.Duration(n)
	start := referenceTime.Add(-fakeSpan)
	for i := range tokens {
		r := rand.New(rand.NewPCG(fakeSeed, uint64(i)))
		jitter := time.Duration(r.Int64N(int64(step/2) + 1))
		inserted := start.Add(time.Duration(i)*step + jitter).Truncate(time.Second)
		tokens[i] = fakeToken(i, inserted, r)
	}
	// Creation times increase with i, so this only matters when n is so
	// large that two tokens share a millisecond.
	slices.SortFunc(tokens, func(a, b prefactor.APIToken) int { return strings.Compare(a.ID, b.ID) })
	return tokens
}

// fakeToken builds token i, created at inserted.
func fakeToken(i int, inserted time.Time, r *rand.Rand) prefactor.APIToken {
	acct := fakeAccounts[accountCycle[i%len(accountCycle)]]
	tok := prefactor.APIToken{
		ID:         fakeID(inserted, r),
		Type:       "api_token",
		AccountID:  acct.id,
		InsertedAt: inserted,
		UpdatedAt:  inserted,
		Status:     statusCycle[i%len(statusCycle)],
		TokenScope: prefactor.TokenScopeAccount,
	}
	if i%3 == 1 {
		tok.TokenScope = prefactor.TokenScopeEnvironment
		tok.EnvironmentID = ptr(acct.environments[r.IntN(len(acct.environments))])
		// One in three of these is bound to an agent's deployment in that
		// environment. The choice draws nothing from r, so the token's
		// other fields do not depend on it.
		if i%9 == 4 {
			agent := acct.agents[(i/9)%len(acct.agents)]
			tok.TokenScope = prefactor.TokenScopeAgentDeployment
			tok.AgentID = ptr(agent)
			tok.AgentDeploymentID = ptr(acct.deployments[deploymentKey(agent, *tok.EnvironmentID)])
		}
	}
	if i%6 != 5 {
		tok.CreatedByAdminUserID = ptr(acct.admins[r.IntN(len(acct.admins))])
	}

	// Expiry: one token in eight expires within 30 days of the reference
	// time; the others live a fixed term, so the oldest have expired.
	tok.ExpiresAt = inserted.AddDate(0, 0, lifetimes[r.IntN(len(lifetimes))])
	if i%8 == 3 {
		tok.ExpiresAt = referenceTime.Add(time.Duration(1+r.IntN(28))*day + time.Duration(r.IntN(24))*time.Hour)
	}

	// A suspended or revoked token changed status some time after creation.
	usableUntil := minTime(referenceTime, tok.ExpiresAt)
	if tok.Status != prefactor.TokenStatusActive {
		tok.UpdatedAt = between(r, inserted, usableUntil)
		usableUntil = tok.UpdatedAt
	}

	// Use: one in four never used; one in five of the rest last used
	// months ago; the others within the two weeks before they stopped
	// being usable.
	switch {
	case i%4 == 2:
	case i%5 == 0:
		tok.LastUsedAt = ptr(between(r, inserted.Add(time.Hour), maxTime(inserted.Add(time.Hour), usableUntil.Add(-100*day))))
	default:
		tok.LastUsedAt = ptr(between(r, maxTime(inserted, usableUntil.Add(-14*day)), usableUntil))
	}
	return tok
}

// between returns a whole second in [a, b], or a when b is before a.
func between(r *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(r.Int64N(int64(b.Sub(a)) + 1))).Truncate(time.Second)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func ptr[T any](v T) *T { return &v }
