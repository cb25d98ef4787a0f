// Command revoke-stale revokes the API tokens nobody has used for a while.
// By default it is a dry run: it lists the tokens it would revoke and
// changes nothing. With -apply it revokes each stale token as the walk over
// the list reaches it, and lists each one it revoked: a walk in ID order
// yields every token once while the list changes, so it need not finish
// listing first.
//
// Usage:
//
//	go run ./examples/revoke-stale [-unused 90d] [-apply] [-demo] [-account ID] [-at TIME]
//
// A token is stale when it was last used -unused ago or earlier, or was
// never used and was created that long ago. The span takes days ("90d") or
// a Go duration ("36h"). Revoked tokens are skipped; suspended ones are
// revoked like active ones. Revoking is final: a revoked token never
// authenticates again.
//
// With PREFACTOR_API_TOKEN set it acts on the real API (PREFACTOR_API_URL,
// or the default). Without it, or with -demo, it acts on an offline fake
// with sample tokens, judged as of the time those samples were made, so
// nothing real changes, and says so on stderr; of the fake's three
// accounts it looks at its token's own unless -account names another. So
// that a job whose secret went missing fails instead of revoking demo
// tokens, -apply without PREFACTOR_API_TOKEN needs -demo, and
// PREFACTOR_API_URL without PREFACTOR_API_TOKEN is refused; both exit 2.
// It checks the token with Client.Ping before anything else, so a token
// the API refuses fails at once, in one line:
//
//	revoke-stale: the API refused the token: bad_authtoken: … (HTTP 401)
//
// With -apply it stops at the first revocation or list request that
// fails; the tokens revoked before it stay revoked, and running it again
// picks up the rest.
//
// Exit status:
//
//	0  done, also when nothing is stale
//	1  the API refused the token, or the API or the network failed; the
//	   API's error code and message are on stderr
//	2  bad flags or environment, refused before anything is sent: -apply
//	   without PREFACTOR_API_TOKEN or -demo, PREFACTOR_API_URL without
//	   PREFACTOR_API_TOKEN
//
// go run prints a non-zero status ("exit status 2") and then exits 1 itself,
// whatever the status was. To act on the status in a script, build the
// program and run it:
//
//	go build -o revoke-stale ./examples/revoke-stale
//	./revoke-stale -unused 90d -apply
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/examples/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitAPI   = 1
	exitUsage = 2
)

// run is the program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revoke-stale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	unused := demo.Span(90 * demo.Day)
	var at demo.Instant
	fs.Var(&unused, "unused", "revoke tokens not used for this `span` or longer (e.g. 90d or 2160h)")
	apply := fs.Bool("apply", false, "revoke the stale tokens (default: a dry run that only lists them)")
	account := fs.String("account", "", "look at this account's tokens (default: the API token's own account)")
	fs.Var(&at, "at", "judge staleness as of this `time` (2006-01-02 or RFC 3339; default: now, or offline the samples' date)")
	useDemo := fs.Bool("demo", false, "use the offline demo API, even when PREFACTOR_API_TOKEN is set; -apply without a token needs it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "revoke-stale: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	if unused == 0 {
		fmt.Fprintln(stderr, "revoke-stale: -unused must be more than 0: every token would count as stale")
		return exitUsage
	}

	cfg := demo.Config{Program: "revoke-stale", At: at, Demo: *useDemo}
	if *apply {
		cfg.Mutation = "-apply"
	}
	conn, err := demo.Connect(stderr, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "revoke-stale:", err)
		if errors.As(err, new(*demo.UsageError)) {
			return exitUsage
		}
		return exitAPI
	}
	defer conn.Close()
	client, now := conn.Client, conn.Now

	// Check the token first: a bad one fails here, in one line, before
	// anything is listed or revoked.
	if err := client.Ping(ctx); err != nil {
		fmt.Fprintln(stderr, "revoke-stale:", demo.DescribePing(err))
		return exitAPI
	}

	// Act as the walk goes. All walks in ID order, and a walk in ID order
	// yields every token once however the list changes meanwhile (these
	// revocations, or another client's), so nothing has to wait for the
	// listing to end, and memory holds one page, not every stale token.
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	if *apply {
		fmt.Fprintln(tw, "REVOKED\tWAS\tUNUSED")
	} else {
		fmt.Fprintln(tw, "ID\tSTATUS\tUNUSED")
	}
	total, stale := 0, 0
	for tok, err := range client.APITokens.All(ctx, &prefactor.ListAPITokensOptions{AccountID: *account}) {
		if err != nil {
			_ = tw.Flush()
			fmt.Fprintln(stderr, "revoke-stale: listing tokens:", demo.Describe(err))
			if *apply && stale > 0 {
				fmt.Fprintf(stderr, "revoke-stale: revoked %d stale tokens before the error; run again to revoke the rest.\n", stale)
			}
			return exitAPI
		}
		total++
		if tok.Status == prefactor.TokenStatusRevoked {
			continue
		}
		reason, ok := demo.Unused(tok, now, time.Duration(unused))
		if !ok {
			continue
		}
		if *apply {
			if _, err := client.APITokens.Revoke(ctx, tok.ID); err != nil {
				_ = tw.Flush()
				fmt.Fprintf(stderr, "revoke-stale: revoking %s: %s\n", tok.ID, demo.Describe(err))
				fmt.Fprintf(stderr, "revoke-stale: revoked %d stale tokens before the error; run again to revoke the rest.\n", stale)
				return exitAPI
			}
		}
		stale++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", tok.ID, tok.Status, reason)
	}
	if stale == 0 {
		fmt.Fprintf(stderr, "revoke-stale: none of the %d tokens has gone unused for %s as of %s.\n", total, unused.String(), demo.Date(now))
		return exitOK
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "revoke-stale:", err)
		return exitAPI
	}
	if *apply {
		fmt.Fprintf(stderr, "revoke-stale: revoked %d of %d tokens, unused for %s as of %s.\n", stale, total, unused.String(), demo.Date(now))
	} else {
		fmt.Fprintf(stderr, "revoke-stale: dry run: would revoke %d of %d tokens, unused for %s as of %s; run with -apply to revoke them.\n", stale, total, unused.String(), demo.Date(now))
	}
	return exitOK
}
