package demo

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

// Day is 24 hours, the unit of the examples' spans.
const Day = 24 * time.Hour

// maxSpan keeps a span in days from overflowing a time.Duration.
const maxSpan = 100 * 365 * Day

// Span is a flag value: a whole number of days ("30d") or a Go duration
// ("36h", "0"); never negative.
type Span time.Duration

// String shows the span in days when it is whole days, else as a Go
// duration.
func (s *Span) String() string {
	d := time.Duration(*s)
	if d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return d.String()
}

// Set parses v; it refuses negative spans and more days than a
// time.Duration holds.
func (s *Span) Set(v string) error {
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > int(maxSpan/Day) {
			return fmt.Errorf("%q: want a whole number of days, like 30d", v)
		}
		d = time.Duration(days) * Day
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("%q: want days (30d) or a duration (36h)", v)
		}
	}
	if d < 0 {
		return fmt.Errorf("%q is negative", v)
	}
	*s = Span(d)
	return nil
}

// Instant is a flag value: a date (2006-01-02, midnight UTC) or an RFC 3339
// time. The zero Instant means the flag was not given.
type Instant struct{ time.Time }

// String shows the time in RFC 3339, or "" when unset.
func (i *Instant) String() string {
	if i.IsZero() {
		return ""
	}
	return i.Format(time.RFC3339)
}

// Or returns i's time, or def when i is unset.
func (i Instant) Or(def time.Time) time.Time {
	if i.IsZero() {
		return def
	}
	return i.Time
}

// Set parses v.
func (i *Instant) Set(v string) error {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			i.Time = t
			return nil
		}
	}
	return fmt.Errorf("%q: want a date (2006-01-02) or an RFC 3339 time", v)
}

// Date formats t as a day in UTC, 2006-01-02.
func Date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Days renders d in whole days ("120 days"), or hours when under two days
// ("36h").
func Days(d time.Duration) string {
	if d < 2*Day {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d/Day))
}

// Unused reports whether tok has gone unused for span or longer at now:
// last used span ago or earlier, or never used and created span ago or
// earlier. Its text tells which, as "last used 2026-02-01 (120 days ago)"
// or "never used, created 2025-11-13 (200 days ago)". It ignores the
// token's status.
func Unused(tok *prefactor.APIToken, now time.Time, span time.Duration) (string, bool) {
	if tok.LastUsedAt == nil {
		if age := now.Sub(tok.InsertedAt); age >= span {
			return fmt.Sprintf("never used, created %s (%s ago)", Date(tok.InsertedAt), Days(age)), true
		}
		return "", false
	}
	if idle := now.Sub(*tok.LastUsedAt); idle >= span {
		return fmt.Sprintf("last used %s (%s ago)", Date(*tok.LastUsedAt), Days(idle)), true
	}
	return "", false
}
