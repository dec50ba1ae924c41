// Package emulator is an in-process OpenID Connect provider on loopback:
// discovery, signing keys, an authorization endpoint that lets a person
// pick who to sign in as on a plain page, a token endpoint that checks the
// PKCE verifier, and userinfo. `drawbridge dev` signs people in through it
// with the sample directory's users, so the real redirect flow runs with
// no identity provider outside the process; tests use it to run that flow
// and, through Mint, to send ID tokens a real provider would never sign
// (another key, alg none, another audience, expired).
package emulator

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// User is a person the provider can sign in. Claims are added to the ID
// token and userinfo as they are (groups, tid, oid, email_verified …).
type User struct {
	Subject string
	Email   string
	Name    string
	Claims  map[string]any
}

// Token is an ID token about to be signed, for Mint to change.
type Token struct {
	Claims map[string]any
	// Alg is the signing algorithm: RS256 (the default), HS256 (keyed with
	// the client secret) or none (no signature).
	Alg string
	// Key signs RS256 tokens; nil is the key the provider publishes.
	Key *rsa.PrivateKey
}

// Server is a running provider.
type Server struct {
	ClientID, ClientSecret string
	// Now is the provider's clock (iat, exp, auth_time).
	Now func() time.Time
	// Mint, when set, may change every ID token before it is signed.
	Mint func(*Token)

	mu    sync.Mutex
	users []User
	codes map[string]grant
	key   *rsa.PrivateKey
	srv   *http.Server
	url   string
}

type grant struct {
	user                  User
	clientID, redirect    string
	nonce, challenge, acr string
	authTime              time.Time
	expires               time.Time
}

// Start runs a provider on a free loopback port.
func Start(clientID, clientSecret string, users []User) (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ClientID: clientID, ClientSecret: clientSecret, Now: time.Now, users: users,
		codes: map[string]grant{}, key: key, url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /keys", s.keys)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	mux.HandleFunc("PUT /users/{subject}/groups", s.putGroups)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Issuer is the provider's issuer URL (no trailing slash).
func (s *Server) Issuer() string { return s.url }

// Close stops the provider.
func (s *Server) Close() error { return s.srv.Close() }

// SetUsers replaces who can sign in (a person removed from an IdP group
// is a user whose groups claim changed).
func (s *Server) SetUsers(users []User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = users
}

// SetGroups replaces the groups claim of the user with subject (a person
// added to or removed from a group at the identity provider); it reports
// whether that user exists.
func (s *Server) SetGroups(subject string, groups []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, u := range s.users {
		if u.Subject == subject {
			claims := map[string]any{}
			for k, v := range u.Claims {
				claims[k] = v
			}
			list := make([]any, len(groups))
			for j, g := range groups {
				list[j] = g
			}
			claims["groups"] = list
			s.users[i].Claims = claims
			return true
		}
	}
	return false
}

// putGroups is SetGroups over HTTP (PUT /users/{subject}/groups with a
// JSON list), so that a test or a person trying drawbridge dev can move
// someone between groups at the provider while the server runs.
func (s *Server) putGroups(w http.ResponseWriter, r *http.Request) {
	var groups []string
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&groups); err != nil {
		http.Error(w, "body must be a JSON list of group names: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !s.SetGroups(r.PathValue("subject"), groups) {
		http.Error(w, "no such user", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{
		"issuer": s.url, "authorization_endpoint": s.url + "/authorize", "token_endpoint": s.url + "/token",
		"jwks_uri": s.url + "/keys", "userinfo_endpoint": s.url + "/userinfo",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (s *Server) keys(w http.ResponseWriter, _ *http.Request) {
	pub := s.key.PublicKey
	writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "emulator",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

var pickPage = template.Must(template.New("pick").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign in (drawbridge dev identity provider)</title></head>
<body><main><h1>Sign in as</h1>
<p>This is drawbridge dev's built-in identity provider: pick a person from the sample directory.</p>
<form method="post" action="/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{range .Users}}<p><button type="submit" name="login_hint" value="{{.Subject}}">{{.Name}} &lt;{{.Email}}&gt;</button></p>
{{end}}</form></main></body></html>
`))

// authorize shows the picker (GET) or, once a person is picked (login_hint
// names their subject), redirects back with a code.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	q := r.Form
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != s.ClientID || redirect == "" || q.Get("response_type") != "code" {
		http.Error(w, "unknown client_id, or no redirect_uri, or response_type is not code", 400)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE (S256) is required", 400)
		return
	}
	s.mu.Lock()
	users := slices.Clone(s.users)
	s.mu.Unlock()
	hint := q.Get("login_hint")
	i := slices.IndexFunc(users, func(u User) bool { return u.Subject == hint })
	if i < 0 {
		params := map[string]string{}
		for k := range q {
			if k != "login_hint" {
				params[k] = q.Get(k)
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pickPage.Execute(w, map[string]any{"Params": params, "Users": users})
		return
	}
	code := random()
	s.mu.Lock()
	s.codes[code] = grant{user: users[i], clientID: s.ClientID, redirect: redirect, nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), acr: q.Get("acr_values"), authTime: s.Now(), expires: s.Now().Add(time.Minute)}
	s.mu.Unlock()
	u, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "bad redirect_uri", 400)
		return
	}
	v := u.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	} else {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	if id != s.ClientID || secret != s.ClientSecret {
		tokenError(w, "invalid_client", "bad client credentials")
		return
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code)
	s.mu.Unlock()
	if !ok || s.Now().After(g.expires) || r.PostForm.Get("redirect_uri") != g.redirect {
		tokenError(w, "invalid_grant", "unknown, used or expired code, or another redirect_uri")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if b64(sum[:]) != g.challenge {
		tokenError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	now := s.Now()
	claims := map[string]any{
		"iss": s.url, "sub": g.user.Subject, "aud": s.ClientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"auth_time": g.authTime.Unix(), "email": g.user.Email, "name": g.user.Name,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if g.acr != "" {
		claims["acr"] = strings.Fields(g.acr)[0]
	}
	for k, v := range g.user.Claims {
		claims[k] = v
	}
	t := &Token{Claims: claims, Alg: "RS256"}
	if s.Mint != nil {
		s.Mint(t)
	}
	idToken, err := s.sign(t)
	if err != nil {
		tokenError(w, "server_error", err.Error())
		return
	}
	access := random()
	s.mu.Lock()
	s.codes["access:"+access] = g
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	g, ok := s.codes["access:"+tok]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unknown access token", http.StatusUnauthorized)
		return
	}
	claims := map[string]any{"sub": g.user.Subject, "email": g.user.Email, "name": g.user.Name}
	for k, v := range g.user.Claims {
		claims[k] = v
	}
	writeJSON(w, 200, claims)
}

// sign serialises t as a compact JWS.
func (s *Server) sign(t *Token) (string, error) {
	header := map[string]string{"alg": t.Alg, "typ": "JWT"}
	if t.Alg != "none" {
		header["kid"] = "emulator"
	}
	h, _ := json.Marshal(header)
	p, err := json.Marshal(t.Claims)
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(p)
	switch t.Alg {
	case "none":
		return input + ".", nil
	case "HS256":
		m := hmac.New(sha256.New, []byte(s.ClientSecret))
		m.Write([]byte(input))
		return input + "." + b64(m.Sum(nil)), nil
	case "RS256":
		key := t.Key
		if key == nil {
			key = s.key
		}
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			return "", err
		}
		return input + "." + b64(sig), nil
	}
	return "", errors.New("emulator signs RS256, HS256 or none, not " + t.Alg)
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, 400, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func random() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return b64(b)
}
