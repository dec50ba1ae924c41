// Package duration is Drawbridge's one duration grammar, shared by the
// config file, the policy, CLI flags, the HTTP API and the positional hours
// of the CLI and Slack, so that what one channel accepts every channel
// accepts, and a grant's length is checked by one rule whichever way it
// was asked for. It is pure: no I/O, no clock.
//
// Two forms exist because users already know both:
//
//   - A duration (Parse): Go syntax ("90s", "15m", "1h30m", "2.5h") with
//     an optional leading count of whole days ("7d", "1d12h"), because
//     access windows are often counted in days and Go has no day unit.
//     No sign, no spaces.
//   - Hours (ParseHours): the positional argument of `request` and
//     `extend` ("0.5", "2", "0.02" ≈ 72 s): a plain decimal number and
//     nothing else. strconv.ParseFloat also takes "0x1p-2", "1_0" (ten
//     hours), "+1", "1e2", "inf" and "nan", so this form has its own small
//     grammar instead.
//
// The grant rules every channel shares (CheckGrant): at least a
// configured minimum (limits.min_duration, DefaultMin unless set, never
// below a second, so no grant reports duration_seconds 0) and at most
// HardMax.
package duration

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// HardMax bounds every grant regardless of policy or config: a typo of
	// hours for minutes must not become a year of admin access. Longer
	// access is a chain of extensions, each decided by policy.
	HardMax = 168 * time.Hour
	// DefaultMin is limits.min_duration when the config does not set it:
	// long enough that a grant is more than a provisioning race, short
	// enough for the reference's 0.02-hour (72 s) demos.
	DefaultMin = 10 * time.Second
	// maxDays bounds what Parse accepts in any form, far above any
	// sensible setting and far below time.Duration's overflow.
	maxDays = 100 * 365
)

// Pattern is the grammar of Parse as a regular expression (the JSON Schema
// of the config uses it): "0", or optional whole days followed by Go
// duration components, at least one part present.
const Pattern = `^(0|[0-9]+d([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))*|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`

var patternRE = regexp.MustCompile(Pattern)

// HoursPattern is the grammar of ParseHours.
const HoursPattern = `^[0-9]+(\.[0-9]+)?$`

var hoursRE = regexp.MustCompile(HoursPattern)

// maxInput bounds what either parser looks at, so a megabyte of digits
// costs nothing.
const maxInput = 64

// Parse reads a duration written as Go syntax plus an optional leading
// count of whole days ("90m", "2h30m", "7d", "1d12h"). It accepts "0";
// callers that need a positive value say so in their own message.
func Parse(s string) (time.Duration, error) {
	if len(s) > maxInput || !patternRE.MatchString(s) {
		return 0, fmt.Errorf("invalid duration %q: use a number and a unit such as 90s, 15m, 2h or 1h30m, optionally after whole days such as 7d or 1d12h", clip(s))
	}
	var d time.Duration
	rest := s
	over := fmt.Errorf("invalid duration %q: at most %d days", s, maxDays)
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days > maxDays {
			return 0, over
		}
		d = time.Duration(days) * 24 * time.Hour
		rest = s[i+1:]
	}
	if rest != "" {
		x, err := time.ParseDuration(rest)
		if err != nil || x > maxDays*24*time.Hour-d {
			return 0, over
		}
		d += x
	}
	return d, nil
}

// ParseHours reads the positional hours argument: a plain decimal number
// of hours, rounded to the nearest second (0.02 is 72 s). It refuses zero,
// anything above HardMax and anything that rounds to less than a second;
// the configured minimum is the broker's to check (CheckGrant), since only
// it knows the config.
func ParseHours(s string) (time.Duration, error) {
	if strings.HasPrefix(s, "-") && hoursRE.MatchString(s[1:]) {
		return 0, fmt.Errorf("hours must be positive, got %s", s)
	}
	if len(s) > maxInput || !hoursRE.MatchString(s) {
		return 0, fmt.Errorf("hours %q is not a number Drawbridge accepts: write a plain decimal such as 0.5, 2 or 0.02 (no sign, exponent, '_' or hex)", clip(s))
	}
	h, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("hours %q is not a number", s)
	}
	if h.Sign() == 0 {
		return 0, fmt.Errorf("hours must be positive, got %s", s)
	}
	if h.Cmp(big.NewRat(int64(HardMax/time.Hour), 1)) > 0 {
		return 0, tooLong(s + " hours")
	}
	// Seconds, rounded half up: h*3600 + 1/2, truncated.
	sec := new(big.Rat).Mul(h, big.NewRat(3600, 1))
	sec.Add(sec, big.NewRat(1, 2))
	n := new(big.Int).Quo(sec.Num(), sec.Denom()).Int64()
	if n == 0 {
		return 0, fmt.Errorf("hours %s is less than a second; ask for more, e.g. 0.02 (72s)", s)
	}
	return time.Duration(n) * time.Second, nil
}

// Seconds converts a whole number of seconds (the API's duration_seconds),
// refusing what is not positive and what would overflow.
func Seconds(n int64) (time.Duration, error) {
	switch {
	case n <= 0:
		return 0, fmt.Errorf("duration_seconds must be positive, got %d", n)
	case n > int64(HardMax/time.Second):
		return 0, tooLong(fmt.Sprintf("%d seconds", n))
	}
	return time.Duration(n) * time.Second, nil
}

// CheckGrant checks the length of a grant against the rules every channel
// shares: positive, at least shortest (the config's limits.min_duration;
// DefaultMin when shortest is 0) and at most HardMax.
func CheckGrant(d, shortest time.Duration) error {
	if shortest <= 0 {
		shortest = DefaultMin
	}
	switch {
	case d <= 0:
		return fmt.Errorf("duration must be positive, got %s; hours accept decimals, e.g. 0.5", d)
	case d < shortest:
		return fmt.Errorf("duration %s is shorter than the shortest grant, %s (limits.min_duration); ask for at least %s (%s hours)", d, Format(shortest), Format(shortest), hoursOf(shortest))
	case d > HardMax:
		return tooLong(Format(d))
	}
	return nil
}

func tooLong(what string) error {
	return fmt.Errorf("%s is longer than Drawbridge's hard limit of %gh (%s) for one grant; ask for at most %gh and extend later if the policy allows", what, HardMax.Hours(), Format(HardMax), HardMax.Hours())
}

// Format writes d in the grammar Parse reads, with whole days first
// ("1d12h", "90s", "1h30m"), so what Drawbridge prints can be pasted back.
func Format(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if rest > 0 || days == 0 {
		s := rest.String()
		// time.Duration.String writes "1h0m0s"; drop the zero units.
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		b.WriteString(s)
	}
	return b.String()
}

// hoursOf writes d as a decimal number of hours for messages that tell a
// user of the positional grammar what to type: four decimals at most,
// rounded up so that typing it gives at least d (10s is 0.0028).
func hoursOf(d time.Duration) string {
	return strconv.FormatFloat(math.Ceil(d.Hours()*1e4)/1e4, 'f', -1, 64)
}

func clip(s string) string {
	if len(s) > maxInput {
		return s[:maxInput] + "…"
	}
	return s
}
