package http

import (
	"log"
	"net"
	nethttp "net/http"
	"sync"
	"time"
)

// Limits bound what one client can hold of the server: how long it may
// take to send its headers and its body, how long a response may take to
// reach it, how long an idle keep-alive connection stays open, how large
// its headers may be, and how many connections the listener holds at once.
// Without them a client that sends headers and never the body keeps a
// connection, a goroutine and a file descriptor for as long as it likes,
// and a few hundred such clients exhaust the process (the expiry engine's
// provider calls included).
type Limits struct {
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. Submit and approve answer
	// after provisioning, so it must exceed the provider timeout; the CSV
	// export extends it page by page (see auditExport).
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	MaxHeaderBytes int
	// MaxConnections caps open connections per listener; more wait in the
	// kernel's accept queue until one closes.
	MaxConnections int
}

// DefaultLimits are the limits for any field left zero (the defaults of
// the server.* config keys).
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      3 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		MaxConnections:    256,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = d.MaxConnections
	}
	return l
}

// HTTPServer returns the net/http server for the API, with s.Limits'
// timeouts and header cap. Serve it on LimitListener(ln,
// s.Limits.MaxConnections) so the connection cap holds too.
func (s *Server) HTTPServer(errorLog *log.Logger) *nethttp.Server {
	s.Limits = s.Limits.withDefaults()
	return &nethttp.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.Limits.ReadHeaderTimeout,
		ReadTimeout:       s.Limits.ReadTimeout,
		WriteTimeout:      s.Limits.WriteTimeout,
		IdleTimeout:       s.Limits.IdleTimeout,
		MaxHeaderBytes:    s.Limits.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// LimitListener accepts at most n connections at once: Accept waits for
// one of them to close before taking the next from the kernel's queue, so
// clients beyond the cap cost the process no file descriptor and no
// goroutine. n ≤ 0 means DefaultLimits().MaxConnections.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		n = DefaultLimits().MaxConnections
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// limitConn gives its slot back once, however often it is closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
