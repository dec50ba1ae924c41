// Package pgtest gives tests a PostgreSQL database on any machine: a
// throwaway cluster started from the installed PostgreSQL binaries (initdb,
// pg_ctl) on a free loopback port, its socket and data in a temporary
// directory, or the server DRAWBRIDGE_TEST_POSTGRES_URL names. A test
// binary starts at most one cluster (lazily, on the first NewDatabase) and
// Main stops it; every test gets a database of its own, which is how the
// suite stays quick and tests never see each other's rows.
//
// Without PostgreSQL a test is skipped on a developer's machine and FAILS
// when CI is set (CI=true): a CI run that silently tested one store would
// look green while proving nothing about the other.
//
// Only tests import this package.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names an existing server to use instead of a throwaway cluster: a
// URL whose user may CREATE DATABASE, e.g.
// postgres://postgres:secret@127.0.0.1:5432/postgres?sslmode=disable.
const EnvURL = "DRAWBRIDGE_TEST_POSTGRES_URL"

// startTimeout bounds initdb and pg_ctl start, each.
const startTimeout = 2 * time.Minute

var (
	once    sync.Once
	server  string // admin URL of the server, "" when there is none
	cluster *throwaway
	failure error // why there is no server
)

// Main runs the tests of a package that uses NewDatabase and stops the
// throwaway cluster afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the throwaway cluster, if this process started one; a
// TestMain that does more than Main calls it after m.Run.
func Stop() {
	if cluster != nil {
		if err := cluster.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		cluster = nil
	}
}

// Restart stops the throwaway cluster cleanly (pg_ctl -m fast: every
// session is cut, committed work is flushed) and starts it again on the
// same port, as a managed database's failover or maintenance restart
// looks to its clients. A server named by DRAWBRIDGE_TEST_POSTGRES_URL is
// not ours to restart: that is an error the caller reports or skips on.
func Restart() error {
	if cluster == nil {
		return errors.New("pgtest: no throwaway cluster to restart (none started yet, or " + EnvURL + " names the server)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	return cluster.run(ctx, cluster.pgCtl, "restart", "-D", cluster.data, "-m", "fast", "-w", "-t", strconv.Itoa(int(startTimeout.Seconds())),
		"-l", filepath.Join(cluster.dir, "server.log"))
}

// NewDatabase creates an empty database for t and returns its URL; the
// database is dropped by t.Cleanup (register the cleanups that close
// connections to it after calling NewDatabase, so they run first).
func NewDatabase(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			server = u
			return
		}
		cluster, failure = start()
		if cluster != nil {
			server = cluster.url
		}
	})
	if server == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required in CI: %v (install it: `make deps-postgres`, or set %s)", failure, EnvURL)
		}
		t.Skipf("no PostgreSQL: %v (install it: `make deps-postgres`, or set %s)", failure, EnvURL)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "drawbridge_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := admin(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := admin(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the server's own database.
func admin(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// throwaway is a cluster this process started.
type throwaway struct {
	dir, data string
	pgCtl     string
	asUser    *user.User // nil: run as ourselves
	url       string
}

// start initialises and starts a cluster in a new temporary directory.
func start() (*throwaway, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	c := &throwaway{pgCtl: filepath.Join(bin, "pg_ctl")}
	// PostgreSQL refuses to run as root: then it runs as the postgres
	// user, which must be able to write the directory.
	if os.Geteuid() == 0 {
		if c.asUser, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
	}
	if c.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	if c.asUser != nil {
		uid, _ := strconv.Atoi(c.asUser.Uid)
		gid, _ := strconv.Atoi(c.asUser.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
	}
	c.data = filepath.Join(c.dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.run(ctx, filepath.Join(bin, "initdb"), "-D", c.data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	// A free port can be taken between our probe and the server's bind:
	// a few attempts settle that race.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(c.dir)
			return nil, err
		}
		// Durability is off (a crash loses a throwaway database, which is
		// fine) and connections are enough for a test binary's handles.
		opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -F -c full_page_writes=off -c synchronous_commit=off -c max_connections=200", port, c.dir)
		err = c.run(ctx, c.pgCtl, "start", "-w", "-t", strconv.Itoa(int(startTimeout.Seconds())),
			"-D", c.data, "-l", filepath.Join(c.dir, "server.log"), "-o", opts)
		if err == nil {
			c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return c, nil
		}
		if attempt == 3 {
			logText, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			os.RemoveAll(c.dir)
			return nil, fmt.Errorf("%w\nserver log:\n%s", err, logText)
		}
	}
}

// stop stops the server at once (nothing in it is worth a clean shutdown)
// and removes its directory.
func (c *throwaway) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.run(ctx, c.pgCtl, "stop", "-D", c.data, "-m", "immediate", "-w")
	return errors.Join(err, os.RemoveAll(c.dir))
}

// run runs a PostgreSQL program, as the postgres user when we are root.
func (c *throwaway) run(ctx context.Context, prog string, args ...string) error {
	var cmd *exec.Cmd
	if c.asUser != nil {
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return fmt.Errorf("running as root needs runuser (util-linux) to start PostgreSQL as the postgres user: %w", err)
		}
		cmd = exec.CommandContext(ctx, runuser, append([]string{"-u", "postgres", "--", prog}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, prog, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(prog), strings.Join(args, " "), err, out.String())
	}
	return nil
}

// binDir finds the directory holding initdb and pg_ctl: PATH, then
// pg_config --bindir, then Debian's /usr/lib/postgresql/<version>/bin
// (newest first), which is not on PATH.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(debian, func(i, j int) bool { return version(debian[i]) > version(debian[j]) })
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("the PostgreSQL server programs initdb and pg_ctl were not found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback TCP port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
