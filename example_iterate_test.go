package prefactor_test

import (
	"context"
	"fmt"
	"log"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// printAccount prints every token of one account, fetching up to eight
// pages at once: the README's "Iterating over all tokens".
func printAccount(ctx context.Context, client *prefactor.Client, accountID string) error {
	opts := &prefactor.ListAPITokensOptions{AccountID: accountID}
	for tok, err := range client.APITokens.All(ctx, opts, prefactor.WithConcurrency(8)) {
		if err != nil {
			return err
		}
		fmt.Println(tok.ID, tok.TokenScope, tok.Status)
	}
	return nil
}

// All walks every page of an account's tokens; WithConcurrency fetches
// several pages at once and still yields each token once, in order.
func Example_iterate() {
	client, stop := fakeAPI(24)
	defer stop()

	other := prefactortest.FakeTokens(24)[2].AccountID // an account other than the token's own
	if err := printAccount(context.Background(), client, other); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 01jm8mm1qrgdw26jjy9g075j6hqcbxzd account suspended
	// 01jtw8c820gcjt27cdne13d7av6609m8 environment active
	// 01k21md1kgscegcsrbqafd73z38ams2j account active
	// 01k98a2za041ysft3mgm88882ynhsgzy account active
	// 01kg9mqqd8h9gza1q2pd1ya7jzxp1g4t agent_deployment active
}

// revokeSuspended revokes every suspended token while it walks them: the
// README's "Changing tokens while you iterate".
func revokeSuspended(ctx context.Context, client *prefactor.Client) error {
	for tok, err := range client.APITokens.All(ctx, nil) {
		if err != nil {
			return err
		}
		if tok.Status == prefactor.TokenStatusSuspended {
			if _, err := client.APITokens.Revoke(ctx, tok.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// A walk in ID order, All's default, yields every token once even while
// the loop changes them.
func Example_changeWhileIterating() {
	client, stop := fakeAPI(42)
	defer stop()
	ctx := context.Background()

	count := func(st prefactor.TokenStatus) int {
		n := 0
		for tok, err := range client.APITokens.All(ctx, nil) {
			if err != nil {
				log.Fatal(err)
			}
			if tok.Status == st {
				n++
			}
		}
		return n
	}
	fmt.Println("suspended:", count(prefactor.TokenStatusSuspended), "revoked:", count(prefactor.TokenStatusRevoked))
	if err := revokeSuspended(ctx, client); err != nil {
		log.Fatal(err)
	}
	fmt.Println("suspended:", count(prefactor.TokenStatusSuspended), "revoked:", count(prefactor.TokenStatusRevoked))
	// Output:
	// suspended: 3 revoked: 3
	// suspended: 0 revoked: 6
}
