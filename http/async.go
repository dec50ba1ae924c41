package http

import (
	nethttp "net/http"
	"strings"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
)

// preferAsync reports whether the client asked, with RFC 7240's
// Prefer: respond-async, for the decision to be recorded and answered at
// once, provisioning left to the expiry engine. Preferences are
// case-insensitive tokens separated by commas, each with optional
// parameters after ';' or '='.
func preferAsync(r *nethttp.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			name, _, _ := strings.Cut(pref, ";")
			name, _, _ = strings.Cut(name, "=")
			if strings.EqualFold(strings.TrimSpace(name), "respond-async") {
				return true
			}
		}
	}
	return false
}

// decideOptions are the broker options a request's headers ask for.
func decideOptions(r *nethttp.Request) []broker.Option {
	if preferAsync(r) {
		return []broker.Option{broker.ProvisionInBackground}
	}
	return nil
}

// writeDecided answers a submission or review with status, or — when the
// client preferred respond-async and provisioning was left to the engine
// (the request is APPROVED) — with 202, the request as recorded, where to
// follow it (Location) and Preference-Applied. A pending or denied request
// has nothing running in the background, so it gets the usual status.
func writeDecided(w nethttp.ResponseWriter, r *nethttp.Request, status int, req *drawbridge.Request) {
	if preferAsync(r) && req.State == drawbridge.StateApproved {
		w.Header().Set("Location", "/v1/requests/"+req.ID)
		w.Header().Set("Preference-Applied", "respond-async")
		status = nethttp.StatusAccepted
	}
	writeJSON(w, status, req)
}
