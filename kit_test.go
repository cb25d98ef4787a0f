package prefactor_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// The black-box tests of package prefactor_test run against the fake API
// of prefactortest; these are their shared helpers.

// newFake starts the fake holding n of prefactortest.FakeTokens, all in the
// caller's account so that a list without account_id shows every one, and
// returns it with their IDs in list order.
func newFake(t testing.TB, n int) (*prefactortest.Server, []string) {
	t.Helper()
	tokens := prefactortest.FakeTokens(n)
	ids := make([]string, len(tokens))
	for i := range tokens {
		tokens[i].AccountID = prefactortest.AccountID
		ids[i] = tokens[i].ID
	}
	slices.SortFunc(ids, strings.Compare) // the fake's order without sorting
	return prefactortest.NewServer(t, tokens...), ids
}

// noToken fails the test when s holds the fake's bearer token.
func noToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, prefactortest.Token) {
		t.Errorf("%s leaks the bearer token: %s", what, s)
	}
}

func ptr[T any](v T) *T { return &v }
