// Command list-tokens prints every API token of a Prefactor account as a
// table, or as JSON, walking all pages with APITokensService.All.
//
// Usage:
//
//	go run ./examples/list-tokens [-json] [-account ID] [-sort id|-id|status|-status] [-page-size N] [-demo]
//
// The token list sorts by id or status; -sort takes one of them, with a
// leading - for descending (-sort=-status).
//
// With PREFACTOR_API_TOKEN set it asks the real API (PREFACTOR_API_URL, or
// the default); without it, or with -demo, an offline fake with sample
// tokens in three accounts, of which it lists the fake token's own unless
// -account names another, and says so on stderr. PREFACTOR_API_URL set
// without PREFACTOR_API_TOKEN is refused (exit 2), so a missing secret
// never passes for the demo. Before listing it checks the token with
// Client.Ping, so a token the API refuses fails at once, in one line:
//
//	list-tokens: the API refused the token: bad_authtoken: … (HTTP 401)
//
// Exit status:
//
//	0  the tokens were printed
//	1  the API refused the token, or the API or the network failed; the
//	   API's error code and message are on stderr
//	2  bad flags or environment, refused before anything is sent (a page
//	   size outside 1 to 100, a -sort other than id, -id, status or
//	   -status, PREFACTOR_API_URL without PREFACTOR_API_TOKEN)
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
	var sortBy sortFlag
	fs.Var(&sortBy, "sort", "sort by `field`: id or status; a leading - sorts descending, as in -sort=-status")
	pageSize := fs.Int("page-size", 0, "tokens fetched per request, 1 to 100 (default: the server's)")
	useDemo := fs.Bool("demo", false, "use the offline demo API even when PREFACTOR_API_TOKEN is set")
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
	if *pageSize < 0 || *pageSize > maxPageSize {
		fmt.Fprintf(stderr, "list-tokens: -page-size %d: want 1 to %d, or 0 for the server's default\n", *pageSize, maxPageSize)
		return 2
	}
	opts := &prefactor.ListAPITokensOptions{AccountID: *account, Sort: sortBy.Sort, PageSize: *pageSize}

	conn, err := demo.Connect(stderr, demo.Config{Program: "list-tokens", Demo: *useDemo})
	if err != nil {
		fmt.Fprintln(stderr, "list-tokens:", err)
		if errors.As(err, new(*demo.UsageError)) {
			return 2
		}
		return 1
	}
	defer conn.Close()

	// Check the token first: a bad one fails here, in one line, instead
	// of partway through a walk.
	if err := conn.Client.Ping(ctx); err != nil {
		fmt.Fprintln(stderr, "list-tokens:", demo.DescribePing(err))
		return 1
	}

	tokens := []*prefactor.APIToken{}
	for tok, err := range conn.Client.APITokens.All(ctx, opts) {
		if err != nil {
			fmt.Fprintln(stderr, "list-tokens:", demo.Describe(err))
			if errors.Is(err, prefactor.ErrInvalidArgument) { // the SDK refused the options: a usage error
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

// sortFlag is the -sort flag: "status" sorts ascending, "-status"
// descending, "" leaves the order to the server. The SDK sends any field,
// but the token list sorts only by id and status, so Set refuses the rest
// before anything is sent.
type sortFlag struct{ prefactor.Sort }

// String shows the flag as it is given.
func (f *sortFlag) String() string {
	if f == nil || f.Field == "" {
		return ""
	}
	if f.Direction == prefactor.SortDesc {
		return "-" + string(f.Field)
	}
	return string(f.Field)
}

// Set reads s.
func (f *sortFlag) Set(s string) error {
	if s == "" {
		f.Sort = prefactor.Sort{}
		return nil
	}
	field, desc := strings.CutPrefix(s, "-")
	switch prefactor.SortField(field) {
	case prefactor.SortByID, prefactor.SortByStatus:
	default:
		return errors.New("want id or status, with a leading - for descending, as in -sort=-status")
	}
	f.Sort = prefactor.Sort{Field: prefactor.SortField(field)}
	if desc {
		f.Direction = prefactor.SortDesc
	}
	return nil
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
