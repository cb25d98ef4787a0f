// Command token-audit reports the API tokens that need attention: those
// that expire soon (or have expired) and those nobody has used for a while.
// It exits 1 when it finds any, so it can guard a CI pipeline.
//
// Usage:
//
//	go run ./examples/token-audit [-expiring 30d] [-unused 90d] [-account ID] [-at TIME] [-demo]
//
// Spans take days ("30d") or Go durations ("36h"); 0 turns a check off.
// Revoked tokens are skipped: they can no longer be used. A token never used
// counts as unused once it is older than -unused.
//
// With PREFACTOR_API_TOKEN set it asks the real API (PREFACTOR_API_URL, or
// the default); without it, or with -demo, an offline fake with sample
// tokens, audited as of the time those samples were made, and says so on
// stderr; of the fake's three accounts it audits its token's own unless
// -account names another. PREFACTOR_API_URL set without
// PREFACTOR_API_TOKEN is refused (exit 2), so a pipeline whose secret went
// missing fails instead of auditing the demo. It checks the token with
// Client.Ping before listing, so a token the API refuses fails at once, in
// one line:
//
//	token-audit: the API refused the token: bad_authtoken: … (HTTP 401)
//
// Exit status:
//
//	0  nothing found
//	1  tokens found: they are listed on stdout
//	2  bad flags or environment (PREFACTOR_API_URL without
//	   PREFACTOR_API_TOKEN), or the API refused the token, or the API or
//	   the network failed (the API's error code and message are on stderr)
//
// So a pipeline can tell "tokens need attention" (1) from "the audit could
// not run" (2). go run cannot: it prints the program's status ("exit status
// 1" looks like a crash) and exits 1 itself for any non-zero one. In CI,
// build the program and run it:
//
//	go build -o token-audit ./examples/token-audit
//	./token-audit -expiring 30d -unused 90d
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
	exitClean    = 0
	exitFindings = 1
	exitError    = 2
)

// run is the program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token-audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	expiring, unused := demo.Span(30*demo.Day), demo.Span(90*demo.Day)
	var at demo.Instant
	fs.Var(&expiring, "expiring", "report tokens that expire within this `span` (e.g. 30d or 72h; 0: off)")
	fs.Var(&unused, "unused", "report tokens not used for this `span` (e.g. 90d; 0: off)")
	fs.Var(&at, "at", "audit as of this `time` (2006-01-02 or RFC 3339; default: now, or offline the samples' date)")
	account := fs.String("account", "", "audit this account's tokens (default: the API token's own account)")
	useDemo := fs.Bool("demo", false, "audit the offline demo API even when PREFACTOR_API_TOKEN is set")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitClean
		}
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "token-audit: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitError
	}

	conn, err := demo.Connect(stderr, demo.Config{Program: "token-audit", At: at, Demo: *useDemo})
	if err != nil {
		fmt.Fprintln(stderr, "token-audit:", err)
		return exitError
	}
	defer conn.Close()

	// Check the token first: a bad one fails here, in one line, instead
	// of partway through the audit.
	if err := conn.Client.Ping(ctx); err != nil {
		fmt.Fprintln(stderr, "token-audit:", demo.DescribePing(err))
		return exitError
	}

	a := audit{now: conn.Now, expiring: time.Duration(expiring), unused: time.Duration(unused)}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	found, total := 0, 0
	for tok, err := range conn.Client.APITokens.All(ctx, &prefactor.ListAPITokensOptions{AccountID: *account}) {
		if err != nil {
			fmt.Fprintln(stderr, "token-audit:", demo.Describe(err))
			return exitError
		}
		total++
		findings := a.check(tok)
		if len(findings) == 0 {
			continue
		}
		if found == 0 {
			fmt.Fprintln(tw, "ID\tSTATUS\tFINDINGS")
		}
		found++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", tok.ID, tok.Status, strings.Join(findings, "; "))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "token-audit:", err)
		return exitError
	}
	if found > 0 {
		fmt.Fprintf(stderr, "token-audit: %d of %d tokens need attention as of %s.\n", found, total, demo.Date(a.now))
		return exitFindings
	}
	fmt.Fprintf(stderr, "token-audit: all %d tokens are fine as of %s.\n", total, demo.Date(a.now))
	return exitClean
}

// audit holds the rules: what counts as expiring and as unused at now.
type audit struct {
	now      time.Time
	expiring time.Duration // 0: not checked
	unused   time.Duration // 0: not checked
}

// check returns what is wrong with tok, if anything.
func (a audit) check(tok *prefactor.APIToken) []string {
	if tok.Status == prefactor.TokenStatusRevoked {
		return nil
	}
	var findings []string
	if a.expiring > 0 {
		switch left := tok.ExpiresAt.Sub(a.now); {
		case left <= 0:
			findings = append(findings, fmt.Sprintf("expired %s (%s ago)", demo.Date(tok.ExpiresAt), demo.Days(-left)))
		case left <= a.expiring:
			findings = append(findings, fmt.Sprintf("expires %s (in %s)", demo.Date(tok.ExpiresAt), demo.Days(left)))
		}
	}
	if a.unused > 0 {
		if finding, ok := demo.Unused(tok, a.now, a.unused); ok {
			findings = append(findings, finding)
		}
	}
	return findings
}
