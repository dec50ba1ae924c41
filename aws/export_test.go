package aws

import (
	"context"
	"time"
)

// SetSleep replaces how p waits between retries and polls, so tests can
// record the waits instead of spending them.
func SetSleep(p *Provider, sleep func(context.Context, time.Duration) error) { p.sleep = sleep }
