package prefactor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// vault stands for the secret store a program keeps new token values in.
var vault = map[string]string{}

// store keeps a new token's value, which the API shows only once.
func store(id, value string) { vault[id] = value }

// createUseRetire makes an environment token, keeps its value, then
// revokes and deletes it: the README's "Managing tokens".
func createUseRetire(ctx context.Context, client *prefactor.Client, envID string) error {
	expiry := time.Now().AddDate(0, 3, 0)
	created, err := client.APITokens.Create(ctx, &prefactor.CreateAPITokenRequest{
		TokenScope:    prefactor.TokenScopeEnvironment,
		EnvironmentID: envID,
		ExpiresAt:     &expiry,
	})
	if err != nil {
		return err
	}
	store(created.ID, created.Token.Reveal()) // shown once; it prints as [REDACTED]

	// Later: revoke it, then delete it. A step the token's state does not
	// allow is an *APIError with Code prefactor.CodeInvalidAction.
	if _, err := client.APITokens.Revoke(ctx, created.ID); err != nil {
		return err
	}
	if err := client.APITokens.Delete(ctx, created.ID); err != nil {
		return err
	}
	return nil
}

// A token's life: created with its value shown once, revoked, deleted.
func Example_manageTokens() {
	client, stop := fakeAPI(0)
	defer stop()
	ctx := context.Background()

	if err := createUseRetire(ctx, client, "01j9v3m2a8kq7x0c5n6r4t2w1y"); err != nil {
		log.Fatal(err)
	}
	for id, value := range vault {
		_, err := client.APITokens.Get(ctx, id)
		fmt.Println(id, "stored as a JWT:", strings.Count(value, ".") == 2)
		fmt.Println("gone:", errors.Is(err, prefactor.ErrNotFound))
	}
	// Output:
	// 01kjpy44e09b9992bje0t0q9e35mn271 stored as a JWT: true
	// gone: true
}
