package broker

// Option changes how one decision is carried out.
type Option func(*options)

type options struct {
	background bool
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ProvisionInBackground makes Submit or Approve record the decision and
// return at once: an APPROVED request is written due now, and the expiry
// engine (woken through OnChange) provisions it, exactly as it resumes a
// provisioning interrupted by a crash. Channels that must answer within a
// deadline whatever the provider does (Slack's 3 s, HTTP's
// Prefer: respond-async) use it; the caller learns the outcome from the
// request's state or a notification.
func ProvisionInBackground(o *options) { o.background = true }
