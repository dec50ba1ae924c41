package duration

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	good := map[string]time.Duration{
		"0":        0,
		"90s":      90 * time.Second,
		"15m":      15 * time.Minute,
		"2h":       2 * time.Hour,
		"1h30m":    90 * time.Minute,
		"2.5h":     150 * time.Minute,
		"7d":       7 * 24 * time.Hour,
		"1d12h":    36 * time.Hour,
		"1d0s":     24 * time.Hour,
		"500ms":    500 * time.Millisecond,
		"1ns":      1,
		"3µs":      3 * time.Microsecond,
		"1h0m0s":   time.Hour,
		"36500d":   36500 * 24 * time.Hour,
		"0d":       0,
		"100000ns": 100 * time.Microsecond,
	}
	for s, want := range good {
		if got, err := Parse(s); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{
		"", "1", "h", "-1h", "+1h", "1h-1m", " 1h", "1h ", "1 h", ".5h", "5.h", "1.5d", "1d1d", "12h1d",
		"d", "1D", "1H", "0x10s", "1_0s", "1e2s", "inf", "nan", "1y", "1w", "36501d", "9999999999h",
		"100000d", "1d2562047h", strings.Repeat("1", 100) + "s",
	} {
		if d, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, d)
		} else if !strings.Contains(err.Error(), "duration") {
			t.Errorf("Parse(%q): %v does not say what was wrong", s, err)
		}
	}
}

// The cases: plain decimals only, never hex floats, underscores
// (1_0 was ten hours), signs, exponents, infinities, NaN, zero or
// negatives.
func TestParseHours(t *testing.T) {
	good := map[string]time.Duration{
		"0.5":        30 * time.Minute,
		"0.02":       72 * time.Second,
		"2":          2 * time.Hour,
		"1":          time.Hour,
		"168":        HardMax,
		"007.50":     7*time.Hour + 30*time.Minute,
		"0.0002":     time.Second, // 0.72 s, rounded to the nearest second
		"0.00013889": time.Second, // 0.500004 s
	}
	for s, want := range good {
		if got, err := ParseHours(s); err != nil || got != want {
			t.Errorf("ParseHours(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := map[string]string{
		"0x1p-2":    "plain decimal",
		"1_0":       "plain decimal",
		"+1":        "plain decimal",
		"1e2":       "plain decimal",
		"1E2":       "plain decimal",
		"inf":       "plain decimal",
		"Inf":       "plain decimal",
		"nan":       "plain decimal",
		"-1":        "positive",
		"-0.5":      "positive",
		"0":         "positive",
		"0.0":       "positive",
		"00":        "positive",
		".5":        "plain decimal",
		"5.":        "plain decimal",
		"1,5":       "plain decimal",
		"":          "plain decimal",
		" 1":        "plain decimal",
		"1h":        "plain decimal",
		"٣":         "plain decimal",
		"168.00001": "hard limit of 168h (7d)",
		"1000":      "hard limit of 168h (7d)",
		"0.0001388": "less than a second", // 0.49968 s
		"0.0001":    "less than a second",
	}
	for s, want := range bad {
		d, err := ParseHours(s)
		if err == nil {
			t.Errorf("ParseHours(%q) = %v, want an error", s, d)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHours(%q): %v; want it to say %q", s, err, want)
		}
	}
}

func TestGrant(t *testing.T) {
	tests := []struct {
		d, min time.Duration
		want   string // "" = accepted
	}{
		{10 * time.Second, 0, ""},
		{72 * time.Second, 0, ""},
		{HardMax, 0, ""},
		{time.Second, time.Second, ""},
		{0, 0, "must be positive"},
		{-time.Hour, 0, "must be positive"},
		{1, 0, "shorter than the shortest grant, 10s (limits.min_duration); ask for at least 10s (0.0028 hours)"},
		{999 * time.Millisecond, 0, "shorter than the shortest grant, 10s"},
		{9 * time.Second, 0, "shorter than the shortest grant, 10s"},
		{30 * time.Second, time.Minute, "shorter than the shortest grant, 1m (limits.min_duration); ask for at least 1m (0.0167 hours)"},
		{HardMax + time.Second, 0, "7d1s is longer than Drawbridge's hard limit of 168h (7d) for one grant; ask for at most 168h"},
		{10*time.Second + 500*time.Millisecond, 0, ""},
	}
	for _, tt := range tests {
		err := CheckGrant(tt.d, tt.min)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckGrant(%v, %v): %v", tt.d, tt.min, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckGrant(%v, %v) = %v; want %q", tt.d, tt.min, err, tt.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	if d, err := Seconds(72); err != nil || d != 72*time.Second {
		t.Errorf("Seconds(72) = %v, %v", d, err)
	}
	for _, n := range []int64{0, -1, int64(HardMax/time.Second) + 1, 1 << 62} {
		if _, err := Seconds(n); err == nil {
			t.Errorf("Seconds(%d) accepted", n)
		}
	}
}

func TestFormatRoundTrips(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 72 * time.Second: "1m12s", time.Hour: "1h", 90 * time.Minute: "1h30m",
		36 * time.Hour: "1d12h", HardMax: "7d", 24*time.Hour + time.Second: "1d1s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
		if back, err := Parse(Format(d)); err != nil || back != d {
			t.Errorf("Parse(Format(%v)) = %v, %v", d, back, err)
		}
	}
}

// FuzzParse: neither parser panics; whatever Parse accepts is not negative
// and matches Pattern, and Format of it parses back to the same value;
// whatever ParseHours accepts is a positive whole number of seconds within
// the hard limit, written only in digits and at most one dot.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "90s", "1d12h", "2.5h", "0.02", "0x1p-2", "1_0", "+1", "1e2", "inf", "nan", "-1", "168", "1d2562047h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := Parse(s); err == nil {
			if d < 0 || !patternRE.MatchString(s) {
				t.Fatalf("Parse(%q) = %v", s, d)
			}
			if back, err := Parse(Format(d)); err != nil || back != d {
				t.Fatalf("Parse(Format(%v)) = %v, %v", d, back, err)
			}
		}
		if d, err := ParseHours(s); err == nil {
			if d <= 0 || d > HardMax || d%time.Second != 0 || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 {
				t.Fatalf("ParseHours(%q) = %v", s, d)
			}
		}
	})
}
