// Package emulator is a loopback Slack Web API for tests and drawbridge
// dev: it answers the methods Drawbridge calls (chat.postMessage,
// chat.update, chat.postEphemeral, views.open, views.publish, users.info,
// users.lookupByEmail, conversations.open), the response_url of slash
// commands and Socket Mode (apps.connections.open and its WebSocket), and
// records every call, so a test checks the real messages
// and `drawbridge dev` shows what would have been posted. The real
// slack-go client talks to it through slack.OptionAPIURL(URL()+"/api/").
package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// User is a workspace member as users.info reports them.
type User struct {
	ID     string
	TeamID string
	Email  string
	Bot    bool
}

// Call is one recorded call: the Web API method ("chat.update") or
// "response_url", with its parameters (form fields, or the JSON body's
// top-level fields, nested values as JSON text).
type Call struct {
	Method string            `json:"method"`
	Params map[string]string `json:"params"`
}

// Server is the emulated Web API.
type Server struct {
	srv *http.Server
	ln  net.Listener

	mu    sync.Mutex
	users map[string]User
	calls []Call
	ts    int
	// waiters are told when a call is recorded.
	waiters []chan struct{}
	// Fail, when set, answers every Web API call with this Slack error
	// ("ratelimited", "channel_not_found").
	fail string
	sock socketState
}

// Start serves the emulator on addr (a loopback address such as
// 127.0.0.1:0).
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, users: map[string]User{}, sock: socketState{connected: make(chan struct{})}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("GET /socket", s.socket)
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("POST /response/{id}", s.response)
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Calls())
	})
	s.srv = &http.Server{Handler: mux}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the emulator's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// APIURL is what slack.OptionAPIURL takes.
func (s *Server) APIURL() string { return s.URL() + "/api/" }

// ResponseURL returns a response_url for one slash command or click.
func (s *Server) ResponseURL(id string) string { return s.URL() + "/response/" + url.PathEscape(id) }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// AddUser makes u known to users.info and users.lookupByEmail.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// Fail makes every Web API call answer with the Slack error code ("" to
// stop failing).
func (s *Server) Fail(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = code
}

// Calls returns every call recorded so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Recorded returns a channel closed at the next recorded call, so a test
// waits for a call instead of sleeping.
func (s *Server) Recorded() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	return ch
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	for _, ch := range s.waiters {
		close(ch)
	}
	s.waiters = nil
}

func params(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body map[string]json.RawMessage
		data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &body); err != nil {
			return nil, err
		}
		for k, v := range body {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(v)
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, v := range r.PostForm {
		out[k] = v[0]
	}
	return out, nil
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	p["response_url_id"] = r.PathValue("id")
	s.record(Call{Method: "response_url", Params: p})
	writeJSON(w, map[string]any{"ok": true})
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	p, err := params(r)
	if err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && p["token"] == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	s.mu.Lock()
	fail := s.fail
	s.ts++
	ts := fmt.Sprintf("1700000000.%06d", s.ts)
	s.mu.Unlock()
	if fail != "" {
		writeJSON(w, map[string]any{"ok": false, "error": fail})
		return
	}
	switch method {
	case "chat.postMessage":
		s.record(Call{Method: method, Params: p})
		writeJSON(w, map[string]any{"ok": true, "channel": p["channel"], "ts": ts})
	case "chat.update":
		s.record(Call{Method: method, Params: p})
		writeJSON(w, map[string]any{"ok": true, "channel": p["channel"], "ts": p["ts"], "text": p["text"]})
	case "chat.postEphemeral":
		s.record(Call{Method: method, Params: p})
		writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
	case "views.open", "views.publish", "views.update":
		s.record(Call{Method: method, Params: p})
		writeJSON(w, map[string]any{"ok": true, "view": map[string]any{"id": "V" + strings.ReplaceAll(ts, ".", "")}})
	case "conversations.open":
		s.record(Call{Method: method, Params: p})
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + p["users"]}})
	case "users.info":
		s.mu.Lock()
		u, ok := s.users[p["user"]]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "user": userJSON(u)})
	case "users.lookupByEmail":
		s.mu.Lock()
		var found *User
		for _, u := range s.users {
			if strings.EqualFold(u.Email, p["email"]) {
				found = &u
				break
			}
		}
		s.mu.Unlock()
		if found == nil {
			writeJSON(w, map[string]any{"ok": false, "error": "users_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "user": userJSON(*found)})
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "user_id": "UDRAWBRIDGE", "team_id": "T0DEV"})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "team_id": u.TeamID, "is_bot": u.Bot,
		"profile": map[string]any{"email": u.Email}}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
