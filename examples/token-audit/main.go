// Command token-audit reports the API tokens that need attention: those
// that expire soon (or have expired) and those nobody has used for a while.
// It exits 1 when it finds any, so it can guard a CI pipeline.
//
// Usage:
//
//	go run ./examples/token-audit [-expiring 30d] [-unused 90d] [-account ID] [-at TIME]
//
// Spans take days ("30d") or Go durations ("36h"); 0 turns a check off.
// Revoked tokens are skipped: they can no longer be used. A token never used
// counts as unused once it is older than -unused.
//
// With PREFACTOR_API_TOKEN set it asks the real API (PREFACTOR_API_URL, or
// the default); without it, an offline fake with sample tokens, audited as
// of the time those samples were made. Exit status: 0 nothing found, 1
// tokens found, 2 bad flags or a failed API call (with the API's error code
// and message).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/examples/internal/demo"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
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

const day = 24 * time.Hour

// run is the program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token-audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	expiring, unused := span(30*day), span(90*day)
	var at instant
	fs.Var(&expiring, "expiring", "report tokens that expire within this `span` (e.g. 30d or 72h; 0: off)")
	fs.Var(&unused, "unused", "report tokens not used for this `span` (e.g. 90d; 0: off)")
	fs.Var(&at, "at", "audit as of this `time` (2006-01-02 or RFC 3339; default: now)")
	account := fs.String("account", "", "audit this account's tokens (default: the API's choice, the token's own account)")
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

	client, offline, stopDemo, err := demo.Connect(stderr, "token-audit")
	if err != nil {
		fmt.Fprintln(stderr, "token-audit:", err)
		return exitError
	}
	defer stopDemo()
	now := time.Now()
	switch {
	case !at.IsZero():
		now = at.Time
	case offline:
		now = prefactortest.ReferenceTime()
		fmt.Fprintf(stderr, "token-audit: auditing the sample tokens as of %s, when they were made.\n", now.Format(time.DateOnly))
	}

	a := audit{now: now, expiring: time.Duration(expiring), unused: time.Duration(unused)}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	found, total := 0, 0
	for tok, err := range client.APITokens.All(ctx, &prefactor.ListAPITokensOptions{AccountID: *account}) {
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
		fmt.Fprintf(stderr, "token-audit: %d of %d tokens need attention.\n", found, total)
		return exitFindings
	}
	fmt.Fprintf(stderr, "token-audit: all %d tokens are fine.\n", total)
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
			findings = append(findings, fmt.Sprintf("expired %s (%s ago)", date(tok.ExpiresAt), days(-left)))
		case left <= a.expiring:
			findings = append(findings, fmt.Sprintf("expires %s (in %s)", date(tok.ExpiresAt), days(left)))
		}
	}
	if a.unused > 0 {
		switch {
		case tok.LastUsedAt == nil && a.now.Sub(tok.InsertedAt) >= a.unused:
			findings = append(findings, fmt.Sprintf("never used, created %s (%s ago)", date(tok.InsertedAt), days(a.now.Sub(tok.InsertedAt))))
		case tok.LastUsedAt != nil && a.now.Sub(*tok.LastUsedAt) >= a.unused:
			findings = append(findings, fmt.Sprintf("last used %s (%s ago)", date(*tok.LastUsedAt), days(a.now.Sub(*tok.LastUsedAt))))
		}
	}
	return findings
}

func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// days renders d in whole days, or hours when under two days.
func days(d time.Duration) string {
	if d < 2*day {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d/day))
}

// span is a flag value: a whole number of days ("30d") or a Go duration
// ("36h", "0").
type span time.Duration

func (s *span) String() string {
	d := time.Duration(*s)
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

func (s *span) Set(v string) error {
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > int(maxSpan/day) {
			return fmt.Errorf("%q: want a whole number of days, like 30d", v)
		}
		d = time.Duration(days) * day
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("%q: want days (30d) or a duration (36h)", v)
		}
	}
	if d < 0 {
		return fmt.Errorf("%q is negative", v)
	}
	*s = span(d)
	return nil
}

// maxSpan keeps a span in days from overflowing a time.Duration.
const maxSpan = 100 * 365 * day

// instant is a flag value: a date or an RFC 3339 time.
type instant struct{ time.Time }

func (i *instant) String() string {
	if i.IsZero() {
		return ""
	}
	return i.Format(time.RFC3339)
}

func (i *instant) Set(v string) error {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			i.Time = t
			return nil
		}
	}
	return fmt.Errorf("%q: want a date (2006-01-02) or an RFC 3339 time", v)
}
