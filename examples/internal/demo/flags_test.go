package demo

import (
	"testing"
	"time"

	prefactor "github.com/prefactor-sdk/prefactor-go"
)

func TestSpanFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * Day, "0d": 0, "0": 0, "36h": 36 * time.Hour, "1.5h": 90 * time.Minute, " 7d ": 7 * Day,
	} {
		var s Span
		if err := s.Set(in); err != nil || time.Duration(s) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(s), err, want)
		}
	}
	for _, in := range []string{"", "d", "-3d", "-1h", "3.5d", "3 days", "999999999d"} {
		var s Span
		if err := s.Set(in); err == nil {
			t.Errorf("Set(%q) accepted %v", in, time.Duration(s))
		}
	}
	for d, want := range map[Span]string{Span(30 * Day): "30d", Span(36 * time.Hour): "36h0m0s", 0: "0d"} {
		if got := d.String(); got != want {
			t.Errorf("String(%v) = %q, want %q", time.Duration(d), got, want)
		}
	}
}

func TestInstantFlag(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-06-01":                time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC),
		"2026-06-01T10:30:00+02:00": time.Date(2026, time.June, 1, 8, 30, 0, 0, time.UTC),
	} {
		var i Instant
		if err := i.Set(in); err != nil || !i.Equal(want) {
			t.Errorf("Set(%q) = %v, %v; want %v", in, i.Time, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2026-13-01", "01/06/2026"} {
		var i Instant
		if err := i.Set(in); err == nil {
			t.Errorf("Set(%q) accepted %v", in, i.Time)
		}
	}
	var unset Instant
	if unset.String() != "" {
		t.Errorf("unset Instant prints %q", unset.String())
	}
	def := time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)
	if got := unset.Or(def); !got.Equal(def) {
		t.Errorf("unset Or = %v, want the default", got)
	}
	set := Instant{time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)}
	if got := set.Or(def); !got.Equal(set.Time) {
		t.Errorf("set Or = %v, want its own time", got)
	}
}

func TestUnused(t *testing.T) {
	now := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	tests := []struct {
		name     string
		inserted time.Duration // before now
		used     *time.Time
		want     string // "" when not unused
	}{
		{"used recently", 300 * Day, at(Day), ""},
		{"used 120 days ago", 300 * Day, at(120 * Day), "last used 2026-02-01 (120 days ago)"},
		{"used exactly 90 days ago", 300 * Day, at(90 * Day), "last used 2026-03-03 (90 days ago)"},
		{"used just under 90 days ago", 300 * Day, at(90*Day - time.Second), ""},
		{"never used, old", 200 * Day, nil, "never used, created 2025-11-13 (200 days ago)"},
		{"never used, new", 10 * Day, nil, ""},
		{"never used, exactly 90 days old", 90 * Day, nil, "never used, created 2026-03-03 (90 days ago)"},
	}
	for _, tt := range tests {
		tok := &prefactor.APIToken{InsertedAt: now.Add(-tt.inserted), LastUsedAt: tt.used}
		got, ok := Unused(tok, now, 90*Day)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: Unused = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
	}
	if got := Days(36 * time.Hour); got != "36h" {
		t.Errorf("Days(36h) = %q", got)
	}
}
