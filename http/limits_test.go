package http_test

import (
	"bufio"
	"context"
	"errors"
	"github.com/drawbridge-jit/drawbridge"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"strings"
	"testing"
	"time"

	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// serveLimited serves a bare API (no store: the probes and the 401 path
// need none) on loopback with the given limits, behind the connection cap.
func serveLimited(t *testing.T, l dbhttp.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dbhttp.Server{Limits: l}
	hs := s.HTTPServer(nil)
	go hs.Serve(dbhttp.LimitListener(ln, l.MaxConnections))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the server closes it and reports whether it
// did within d (bounded: the test never waits longer).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestSlowBodyIsCutOff is the slowloris of the report: headers complete,
// the body promised and never sent. The server closes the connection once
// the read timeout passes instead of holding it (and a file descriptor)
// for as long as the client likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	addr := serveLimited(t, dbhttp.Limits{ReadHeaderTimeout: time.Minute, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10, MaxConnections: 10})
	for _, path := range []string{"/v1/requests", "/healthz"} {
		c := dial(t, addr)
		io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: drawbridge\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		if !closedWithin(c, 20*time.Second) {
			t.Fatalf("POST %s: a body that never arrives held the connection for 20 s (read timeout 200 ms)", path)
		}
	}
}

// TestConnectionCap: with the cap at 2 and two connections held open, a
// third is not served; it is served as soon as one of the two goes.
func TestConnectionCap(t *testing.T) {
	addr := serveLimited(t, dbhttp.Limits{ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10, MaxConnections: 2})
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		io.WriteString(c, "GET /healthz HTTP/1.1\r\n") // headers never finished
	}
	third := dial(t, addr)
	io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: drawbridge\r\n\r\n")
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := third.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the third connection was served while two were held (read %d bytes, %v)", n, err)
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(third).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("after a slot freed, the third connection got %q, %v", line, err)
	}
}

// TestOversizedHeadersAre431: headers beyond MaxHeaderBytes are refused.
func TestOversizedHeadersAre431(t *testing.T) {
	addr := serveLimited(t, dbhttp.Limits{ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10, MaxConnections: 10})
	c := dial(t, addr)
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: drawbridge\r\nX-Pad: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 431") {
		t.Fatalf("64 KiB of headers with an 8 KiB limit: got %q, %v", line, err)
	}
}

// slowStore makes each page of a listing slow, like a large export on a
// busy store.
type slowStore struct {
	drawbridge.Store
	delay time.Duration
}

func (s slowStore) ListRequests(ctx context.Context, f drawbridge.RequestFilter) ([]*drawbridge.Request, error) {
	time.Sleep(s.delay)
	return s.Store.ListRequests(ctx, f)
}

func (s slowStore) ExportRequests(ctx context.Context, f drawbridge.RequestFilter, fn func(*drawbridge.Request) error) error {
	time.Sleep(s.delay)
	return s.Store.ExportRequests(ctx, f, fn)
}

// TestLongExportOutlivesWriteTimeout: the CSV export streams for as long
// as the store takes; the write timeout bounds each page's write, not the
// whole export, so a slow or large export is not cut off (while a client
// that stops reading still is, page by page).
func TestLongExportOutlivesWriteTimeout(t *testing.T) {
	e := newEnv(t)
	e.active()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The page takes 1.5 s to read, the write timeout is 1 s: with one
	// deadline for the whole response, the export would fail.
	s := &dbhttp.Server{Broker: e.broker, Store: slowStore{e.db, 1500 * time.Millisecond}, Tokens: e.db, AllowWildcardScopes: true,
		Limits: dbhttp.Limits{WriteTimeout: time.Second}}
	hs := s.HTTPServer(nil)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	req, _ := nethttp.NewRequest("GET", "http://"+ln.Addr().String()+"/api/exports.csv?requester=alice@example.com", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["auditor"])
	resp, err := (&nethttp.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("export cut off: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || strings.Count(string(b), "\n") != 2 {
		t.Fatalf("export: status %d, %v, body %q", resp.StatusCode, err, b)
	}
}
