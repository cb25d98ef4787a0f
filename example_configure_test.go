package prefactor_test

import (
	"fmt"
	"log"
	"log/slog"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// configured builds a client with the options the README's
// "Configuration and authentication" shows.
func configured(token string) (*prefactor.Client, error) {
	client, err := prefactor.NewClient(token,
		prefactor.WithBaseURL("https://gateway.example.com/prefactor/"),
		prefactor.WithTimeout(10*time.Second),
		prefactor.WithMaxRetries(5),
		prefactor.WithLogger(slog.Default()),
		prefactor.WithUserAgent("token-janitor/1.2"),
	)
	return client, err
}

// Options are checked when the client is made; a printed client shows
// where it sends requests, never its token.
func Example_configure() {
	client, err := configured(prefactortest.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client)

	_, err = configured("")
	fmt.Println(err)
	// Output:
	// prefactor.Client{BaseURL: https://gateway.example.com/prefactor/, Token: [REDACTED]}
	// prefactor: new client: invalid argument: empty API token
}
