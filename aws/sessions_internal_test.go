package aws

import (
	"fmt"
	"testing"
	"time"
)

func TestParseISODuration(t *testing.T) {
	good := map[string]time.Duration{
		"PT1H": time.Hour, "PT12H": 12 * time.Hour, "PT30M": 30 * time.Minute, "PT1H30M": 90 * time.Minute,
		"PT45S": 45 * time.Second, "PT0.5S": 500 * time.Millisecond, "P1D": 24 * time.Hour, "P1DT2H": 26 * time.Hour,
		"PT0S": 0,
	}
	for s, want := range good {
		if got, err := parseISODuration(s); err != nil || got != want {
			t.Errorf("parseISODuration(%q) = %s, %v; want %s", s, got, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1H", "PT1H30", "PT-1H", "P1W", "P1M", "P1Y", "PT1.5H", "pt1h", "PT999999999H", "P400D", " PT1H"} {
		if got, err := parseISODuration(s); err == nil {
			t.Errorf("parseISODuration(%q) = %s; want an error", s, got)
		}
	}
}

func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT1H", "PT12H30M15.25S", "P3DT4H", "PT", "P999999999D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseISODuration(s)
		if err != nil {
			return
		}
		if d < 0 || d > maxISODuration {
			t.Fatalf("parseISODuration(%q) = %s, out of range", s, d)
		}
		// Whole seconds round-trip through the canonical form.
		if d%time.Second == 0 {
			h, m, sec := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
			canon := fmt.Sprintf("PT%dH%dM%dS", h, m, sec)
			if back, err := parseISODuration(canon); err != nil || back != d {
				t.Fatalf("%q = %s, but %q = %s, %v", s, d, canon, back, err)
			}
		}
	})
}
