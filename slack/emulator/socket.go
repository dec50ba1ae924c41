package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
)

// Socket Mode, as far as slack-go's socketmode client needs it:
// apps.connections.open (with an app-level token, xapp-…) answers the URL
// of a WebSocket on this server; the WebSocket says hello, carries the
// envelopes a test sends (SocketSend) and records the client's acks as
// calls of method "socket_ack" (envelope_id, and payload as JSON text).

// socketState is the one open Socket Mode connection.
type socketState struct {
	conn      *websocket.Conn
	envelopes int
	// connected is closed when a client has connected and been greeted.
	connected chan struct{}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// connectionsOpen answers apps.connections.open for an app-level token.
func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer xapp-") {
		writeJSON(w, map[string]any{"ok": false, "error": "not_allowed_token_type"})
		return
	}
	s.record(Call{Method: "apps.connections.open", Params: map[string]string{}})
	writeJSON(w, map[string]any{"ok": true, "url": "ws://" + s.ln.Addr().String() + "/socket"})
}

// socket serves the WebSocket: hello first, then acks read until the
// client goes away.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": "A0DEV"}, "debug_info": map[string]any{"host": "emulator"}}
	s.mu.Lock()
	err = conn.WriteJSON(hello)
	if err == nil {
		s.sock.conn = conn
		close(s.sock.connected)
	}
	s.mu.Unlock()
	if err != nil {
		return
	}
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			s.mu.Lock()
			if s.sock.conn == conn {
				s.sock.conn, s.sock.connected = nil, make(chan struct{})
			}
			s.mu.Unlock()
			return
		}
		s.record(Call{Method: "socket_ack", Params: map[string]string{"envelope_id": ack.EnvelopeID, "payload": string(ack.Payload)}})
	}
}

// SocketConnected returns a channel closed once a Socket Mode client is
// connected and greeted.
func (s *Server) SocketConnected() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock.connected
}

// SocketSend sends one envelope of type typ ("slash_commands",
// "interactive", "events_api") with payload to the connected client and
// returns its envelope id, which the client's ack carries.
func (s *Server) SocketSend(typ string, payload any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sock.conn == nil {
		return "", errors.New("emulator: no Socket Mode client is connected")
	}
	s.sock.envelopes++
	id := "env-" + strconv.Itoa(s.sock.envelopes)
	env := map[string]any{"type": typ, "envelope_id": id, "payload": payload, "accepts_response_payload": typ != "events_api"}
	if err := s.sock.conn.WriteJSON(env); err != nil {
		return "", fmt.Errorf("emulator: send %s: %w", typ, err)
	}
	return id, nil
}

// SocketDrop breaks the connection without a goodbye, as a network
// failure would; the client has to open a new one (SocketConnected, asked
// after SocketDrop, tells when it has).
func (s *Server) SocketDrop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sock.conn == nil {
		return errors.New("emulator: no Socket Mode client is connected")
	}
	err := s.sock.conn.NetConn().Close()
	s.sock.conn, s.sock.connected = nil, make(chan struct{})
	return err
}
