package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration accepts Go duration syntax ("90m", "2h30m") plus whole days
// written first ("7d", "1d12h"), because access windows are often counted in
// days and Go has no day unit. Durations must be positive.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("invalid duration %q (use Go syntax such as 90m, 2h, 1h30m, or whole days first such as 7d or 1d12h)", s)
		}
		d = time.Duration(days) * 24 * time.Hour
		rest = s[i+1:]
	}
	if rest != "" {
		x, err := time.ParseDuration(rest)
		if err != nil || x < 0 || (d > 0 && strings.HasPrefix(rest, "+")) {
			return 0, fmt.Errorf("invalid duration %q (use Go syntax such as 90m, 2h, 1h30m, or whole days first such as 7d or 1d12h)", s)
		}
		d += x
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return d, nil
}
