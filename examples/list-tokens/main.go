// Command list-tokens prints every API token of a Prefactor account as a
// table, or as JSON, walking all pages with APITokensService.All.
//
// Usage:
//
//	go run ./examples/list-tokens [-json] [-account ID] [-sort FIELD|-FIELD] [-page-size N]
//
// With PREFACTOR_API_TOKEN set it asks the real API (PREFACTOR_API_URL, or
// the default); without it, an offline fake with sample tokens in three
// accounts, of which it lists the fake token's own unless -account names
// another.
//
// Exit status:
//
//	0  the tokens were printed
//	1  the API or the network failed; the API's error code and message are
//	   on stderr (a sort field the API does not know is the API's call: 1)
//	2  bad flags, refused before anything is sent (a page size outside 1
//	   to 100, a -sort without a field)
//
// go run prints a non-zero status ("exit status 2") and then exits 1 itself,
// whatever the status was. To act on the status in a script, build the
// program and run it:
//
//	go build -o list-tokens ./examples/list-tokens
//	./list-tokens -json > tokens.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/examples/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list-tokens", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the tokens as a JSON array instead of a table")
	account := fs.String("account", "", "list this account's tokens (default: the API token's own account)")
	sortBy := fs.String("sort", "", "sort by `field` (id or status); a leading - sorts descending, as in -sort=-status")
	pageSize := fs.Int("page-size", 0, "tokens fetched per request, 1 to 100 (default: the server's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "list-tokens: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	opts, err := listOptions(*account, *sortBy, *pageSize)
	if err != nil {
		fmt.Fprintln(stderr, "list-tokens:", err)
		return 2
	}

	conn, err := demo.Connect(stderr, "list-tokens", demo.Instant{})
	if err != nil {
		fmt.Fprintln(stderr, "list-tokens:", err)
		return 1
	}
	defer conn.Close()

	tokens := []*prefactor.APIToken{}
	for tok, err := range conn.Client.APITokens.All(ctx, opts) {
		if err != nil {
			fmt.Fprintln(stderr, "list-tokens:", demo.Describe(err))
			if errors.Is(err, prefactor.ErrInvalidArgument) { // refused by the SDK, nothing sent
				return 2
			}
			return 1
		}
		tokens = append(tokens, tok)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(tokens); err != nil {
			fmt.Fprintln(stderr, "list-tokens:", err)
			return 1
		}
		return 0
	}
	if err := printTable(stdout, tokens); err != nil {
		fmt.Fprintln(stderr, "list-tokens:", err)
		return 1
	}
	fmt.Fprintf(stderr, "%d tokens\n", len(tokens))
	return 0
}

// maxPageSize is the largest page the API serves.
const maxPageSize = 100

// listOptions checks the flags and turns them into list options.
func listOptions(account, sortBy string, pageSize int) (*prefactor.ListAPITokensOptions, error) {
	if pageSize < 0 || pageSize > maxPageSize {
		return nil, fmt.Errorf("-page-size %d: want 1 to %d, or 0 for the server's default", pageSize, maxPageSize)
	}
	sort, err := parseSort(sortBy)
	if err != nil {
		return nil, err
	}
	return &prefactor.ListAPITokensOptions{AccountID: account, Sort: sort, PageSize: pageSize}, nil
}

// parseSort reads "status" as ascending and "-status" as descending; ""
// leaves the order to the server. Which fields exist is the API's call;
// parseSort only refuses a value without a field name.
func parseSort(s string) (prefactor.Sort, error) {
	if s == "" {
		return prefactor.Sort{}, nil
	}
	field, desc := strings.CutPrefix(s, "-")
	if field == "" || strings.HasPrefix(field, "-") || strings.TrimSpace(field) != field {
		return prefactor.Sort{}, fmt.Errorf("-sort %q: want a field name, with a leading - for descending, as in -sort=-status", s)
	}
	if desc {
		return prefactor.Sort{Field: prefactor.SortField(field), Direction: prefactor.SortDesc}, nil
	}
	return prefactor.Sort{Field: prefactor.SortField(field)}, nil
}

// printTable writes tokens as aligned columns. Times are UTC dates.
func printTable(w io.Writer, tokens []*prefactor.APIToken) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPE\tSTATUS\tEXPIRES\tLAST USED\tENVIRONMENT")
	for _, t := range tokens {
		lastUsed, env := "never", "-"
		if t.LastUsedAt != nil {
			lastUsed = demo.Date(*t.LastUsedAt)
		}
		if t.EnvironmentID != nil {
			env = *t.EnvironmentID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.TokenScope, t.Status, demo.Date(t.ExpiresAt), lastUsed, env)
	}
	return tw.Flush()
}
