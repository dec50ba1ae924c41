package main

import (
	"log/slog"
	"net"
	nethttp "net/http"
	"strings"

	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/dashboard"
	"github.com/drawbridge-jit/drawbridge/oidc"
	"github.com/drawbridge-jit/drawbridge/oidc/claims"
)

// signInPages wires sign-in with the configured OpenID provider: the
// authenticator matches people through the app's directory and gives
// them the roles of cfg.Roles. The pages it returns are mounted beside
// the API (they authenticate by the flow's state, not by bearer token),
// with the dashboard, whose callers are the sign-in's sessions.
// An empty api_url_prefix happens only in dev mode, whose address is
// known once it listens.
func signInPages(a *app, cfg *config.Config, addr net.Addr, tls bool, logger *slog.Logger) (map[string]nethttp.Handler, error) {
	o := cfg.OIDC
	prefix := o.APIURLPrefix
	if prefix == "" {
		scheme := "http"
		if tls {
			scheme = "https"
		}
		prefix = scheme + "://" + addr.String()
	}
	opt := oidc.Options{Directory: a.dir, Roles: cfg.DomainRoles(), Logger: logger, Audit: a.store}
	if mg := cfg.ManagedGroups; len(mg.Groups) > 0 {
		// The filters compiled when the config was validated.
		groups, err := claims.CompileGroups(mg.DomainGroups(), mg.ValidFor.Std())
		if err != nil {
			return nil, err
		}
		opt.Groups, opt.Memberships = groups, a.db
	}
	auth := oidc.New(oidc.Config{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, SigningAlgorithms: o.SigningAlgorithms,
		APIURLPrefix: strings.TrimSuffix(prefix, "/"), Scopes: o.Scopes, ClaimsScopes: o.ClaimsScopes, MaxAge: o.MaxAge.Std(),
		AllowedTenants: o.AllowedTenants, EmailDomains: o.EmailDomains, RefuseGuests: o.RefuseGuests, ACRValues: o.ACRValues,
		SessionIdle: o.SessionIdleTimeout.Std(), SessionAbsolute: o.SessionAbsoluteTimeout.Std(), StepUpWindow: o.StepUpWindow.Std(),
	}, opt)
	a.signIn = auth
	h := auth.Handler()
	dash := &dashboard.Server{Broker: a.broker, Store: a.store, Auth: auth, Clock: a.broker.Clock, Logger: logger}
	return map[string]nethttp.Handler{"/v1/auth/oidc/": h, "/v1/auth-methods/oidc:": h, "/dashboard": dash.Handler()}, nil
}
