package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge/signature"
)

// verify is docs/providers.md's Go snippet, verbatim (the test checks).
//
// verify reports whether header signs body with one of secrets, at a
// time within tolerance of now.
func verify(header string, body []byte, secrets [][]byte, now time.Time, tolerance time.Duration) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(unix, 0)).Abs() > tolerance {
		return false
	}
	for _, secret := range secrets {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(ts + "."))
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range sigs {
			if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

// snippet returns the code block of the given language that follows the
// line starting with lead in docs/providers.md.
func snippet(t *testing.T, doc, lead, lang string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+lead)
	if i < 0 {
		t.Fatalf("docs/providers.md has no paragraph starting %q", lead)
	}
	rest := doc[i:]
	start := strings.Index(rest, "```"+lang+"\n")
	if start < 0 {
		t.Fatalf("no %s block after %q", lang, lead)
	}
	rest = rest[start+len("```"+lang+"\n"):]
	return rest[:strings.Index(rest, "```")]
}

// The verification snippets of docs/providers.md accept what the provider
// signs — with either secret of a rotation — and refuse a tampered body.
func TestDocsVerificationSnippets(t *testing.T) {
	raw, err := os.ReadFile("../docs/providers.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	body := []byte(`{"type":"grant","request_id":"req_0190f0c3a3b27e4e8e2f5c1d2b3a4f5e","resource":"payroll-db"}`)
	tampered := []byte(strings.Replace(string(body), "payroll-db", "payroll-dc", 1))
	header := signature.Sign(body, time.Now(), newSecret, oldSecret)

	self, err := os.ReadFile("docs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if goSrc := snippet(t, doc, "**Go**", "go"); !strings.Contains(string(self), goSrc) {
		t.Fatal("the Go snippet of docs/providers.md differs from verify in docs_test.go: keep them identical")
	}
	for _, secret := range [][]byte{oldSecret, newSecret} {
		if !verify(header, body, [][]byte{secret}, time.Now(), 5*time.Minute) || verify(header, tampered, [][]byte{secret}, time.Now(), 5*time.Minute) {
			t.Error("Go snippet: wrong verdict")
		}
	}

	run := func(name string, cmd *exec.Cmd) string {
		out, err := cmd.CombinedOutput()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("%s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Log("python3 not installed: Python snippet not run")
	} else {
		py := snippet(t, doc, "**Python**", "python") + `
import os, sys
print(verify(os.environ["HEADER"], sys.stdin.buffer.read(), [os.environ["SECRET"].encode()]))
`
		for _, tc := range []struct {
			body   []byte
			secret []byte
			want   string
		}{{body, oldSecret, "True"}, {body, newSecret, "True"}, {tampered, newSecret, "False"}, {body, []byte("another-secret-0123"), "False"}} {
			cmd := exec.Command("python3", "-c", py)
			cmd.Stdin = strings.NewReader(string(tc.body))
			cmd.Env = append(os.Environ(), "HEADER="+header, "SECRET="+string(tc.secret))
			if got := run("python", cmd); got != tc.want {
				t.Errorf("Python snippet on %s with secret %s: %s, want %s", tc.body, tc.secret, got, tc.want)
			}
		}
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: shell snippet not run")
	} else {
		sh := snippet(t, doc, "**Shell**", "sh")
		for _, tc := range []struct {
			body   []byte
			secret []byte
			want   string
		}{{body, oldSecret, "verified"}, {body, newSecret, "verified"}, {tampered, oldSecret, "bad signature"}} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "body.json"), tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", sh)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "header="+header, "HOOKS_SECRET="+string(tc.secret))
			if got := run("shell", cmd); got != tc.want {
				t.Errorf("shell snippet on %s with secret %s: %q, want %q", tc.body, tc.secret, got, tc.want)
			}
		}
	}
}
