package prefactor_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// The server says what each token allows, so a program need not encode
// the lifecycle itself. List summaries carry no actions; Get, Create and
// the state changes do.
func ExampleTokenActions() {
	client, stop := fakeAPI(24)
	defer stop()
	ctx := context.Background()

	page, err := client.APITokens.List(ctx, &prefactor.ListAPITokensOptions{
		Sort:     prefactor.Sort{Field: prefactor.SortByStatus, Direction: prefactor.SortDesc},
		PageSize: 5,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, summary := range page.Items {
		tok, err := client.APITokens.Get(ctx, summary.ID)
		if err != nil {
			log.Fatal(err)
		}
		a := tok.AvailableActions
		var allowed []string
		for name, ok := range map[string]bool{"activate": a.Activate, "delete": a.Delete, "revoke": a.Revoke, "suspend": a.Suspend} {
			if ok {
				allowed = append(allowed, name)
			}
		}
		slices.Sort(allowed)
		fmt.Printf("%s %-9s allows %s\n", tok.ID, tok.Status, strings.Join(allowed, ", "))
	}
	// Output:
	// 01k7gemkn0pmzqqjzw2j9e6wdcc14pyr suspended allows activate, revoke
	// 01khhk6rqg0hw2b2zjkggwefxa571hw9 suspended allows activate, revoke
	// 01k0f4vk8052g77agpwnynssvygd1563 revoked   allows delete
	// 01ka7qn6e0g3deqbgm8z58mepywa35mp revoked   allows delete
	// 01jh00v6p8ppcmehyfdtjv22h9vhkjd1 active    allows revoke, suspend
}
