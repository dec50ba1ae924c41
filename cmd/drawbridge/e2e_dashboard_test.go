package main

// The dashboard in a real browser: headless Debian Chromium, driven by
// chromedp, against `drawbridge dev` on loopback, signing in through the
// real redirect flow of dev's built-in identity provider.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. In CI a missing browser fails the
// test (`make deps-chromium` installs it); elsewhere it is skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; `make deps-chromium` installs it")
	}
	t.Skip("chromium is not installed (`make deps-chromium` installs it): the dashboard is not tested in a browser")
	return ""
}

// screenshotDir is where the browser tests leave their screenshots
// (DRAWBRIDGE_SCREENSHOTS, or a directory under the system's temp dir),
// kept after the test as artefacts.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("DRAWBRIDGE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "drawbridge-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one fresh Chromium profile (no cookies, no storage).
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A bound on the whole browser session, so nothing waits forever.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// value runs one action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// signIn opens the dashboard signed out, which sends the browser through
// the sign-in flow to the identity provider's picker, and picks who.
func signIn(t *testing.T, ctx context.Context, base, who string) {
	t.Helper()
	pick := `button[name="login_hint"][value="` + who + `"]`
	browse(t, ctx, "sign in as "+who,
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(pick)),
		chromedp.Click(chromedp.CSS(pick)),
		chromedp.WaitVisible(chromedp.CSS(`#signed-in-as`)),
	)
	as := value(t, ctx, "read who is signed in", chromedp.Text(chromedp.CSS(`#signed-in-as`)))
	if as != who {
		t.Fatalf("signed in as %q, want %q", as, who)
	}
}

// TestDashboardInBrowser: an approver signs in through the real redirect
// flow, approves by clicking, and the timeline shows it; the theme
// persists across a reload; someone who may not see a request cannot
// open it. Screenshots of each page are left as artefacts.
func TestDashboardInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	shots := screenshotDir(t)
	addr := freeAddr(t)
	startServer(t, addr, "dev", "--listen", addr, "--data", t.TempDir())
	base := "http://" + addr

	// Alice asks for production admin over the API: it waits for one
	// approval from sre-leads (Bob is one).
	code, body := curl(t, "POST", base+"/v1/requests", "dbt_dev_requester_alice",
		`{"account_id":"111122223333","permission_set":"AdministratorAccess","duration":"1h","reason":"fix the outage","ticket":"INC-4711"}`)
	var req struct{ ID, State string }
	if err := json.Unmarshal(body, &req); err != nil || code != 201 || req.State != "PENDING_APPROVAL" {
		t.Fatalf("create request: %d %s", code, body)
	}
	// And read-only on staging, granted at once, for the overview.
	if code, body := curl(t, "POST", base+"/v1/requests", "dbt_dev_requester_alice",
		`{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"2h","reason":"read logs"}`); code != 201 {
		t.Fatalf("create staging request: %d %s", code, body)
	}

	ctx := browser(t, exe)
	signIn(t, ctx, base, "bob@example.com")
	browse(t, ctx, "overview", chromedp.WaitVisible(chromedp.CSS(`#chart canvas`)))
	screenshot(t, ctx, shots, "overview")

	approve := `form[action="/dashboard/requests/` + req.ID + `/approve"] button.approve-btn`
	browse(t, ctx, "inbox", chromedp.Navigate(base+"/dashboard/inbox"), chromedp.WaitVisible(chromedp.CSS(approve)))
	screenshot(t, ctx, shots, "inbox")
	// The approval counts only after a recent sign-in (step-up): Bob just
	// signed in, so it counts at once; were he sent to sign in again, he
	// picks himself and approves on the approval page.
	browse(t, ctx, "approve by clicking", chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline, button[name="login_hint"]`)))
	if loc := value(t, ctx, "where the approval went", chromedp.Location()); !strings.HasPrefix(loc, base) {
		pick := `button[name="login_hint"][value="bob@example.com"]`
		browse(t, ctx, "sign in again and approve", chromedp.Click(chromedp.CSS(pick)),
			chromedp.WaitVisible(chromedp.CSS(`#approve`)), chromedp.Click(chromedp.CSS(`#approve`)),
			chromedp.WaitVisible(chromedp.CSS(`#timeline`)))
	}
	timeline := value(t, ctx, "read the timeline", chromedp.Text(chromedp.CSS(`#timeline`)))
	state := value(t, ctx, "read the state", chromedp.Text(chromedp.CSS(`#request-state`)))
	if !strings.Contains(timeline, "approve") || !strings.Contains(timeline, "bob@example.com via web") {
		t.Fatalf("the timeline does not show Bob's approval through the web:\n%s", timeline)
	}
	if state != "ACTIVE" && state != "APPROVED" && state != "PROVISIONING" {
		t.Fatalf("after the approval the request is %s", state)
	}
	screenshot(t, ctx, shots, "request-detail")

	browse(t, ctx, "requests", chromedp.Navigate(base+"/dashboard/requests"), chromedp.WaitVisible(chromedp.CSS(`#csv`)))
	screenshot(t, ctx, shots, "requests")
	browse(t, ctx, "request form", chromedp.Navigate(base+"/dashboard/new"),
		chromedp.SendKeys(chromedp.CSS(`#request`), "staging PowerUserAccess 1"),
		chromedp.Click(chromedp.CSS(`#preview`)), chromedp.WaitVisible(chromedp.CSS(`#outcome`)))
	screenshot(t, ctx, shots, "new-request")

	// The theme toggle persists across a reload.
	const themeJS = `document.documentElement.getAttribute("data-theme")`
	browse(t, ctx, "overview again", chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible(chromedp.CSS(`#theme-toggle`)))
	theme := value(t, ctx, "read the theme", chromedp.Evaluate[string](themeJS))
	want := "dark"
	if theme == "dark" {
		want = "light"
	}
	browse(t, ctx, "toggle and reload", chromedp.Click(chromedp.CSS(`#theme-toggle`)), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#chart canvas`)))
	theme = value(t, ctx, "read the theme after the reload", chromedp.Evaluate[string](themeJS))
	if theme != want {
		t.Fatalf("after the toggle and a reload the theme is %q, want %q", theme, want)
	}
	screenshot(t, ctx, shots, "overview-"+want)

	// Dave, a requester only, cannot open Alice's request.
	dave := browser(t, exe)
	signIn(t, dave, base, "dave@example.com")
	browse(t, dave, "open someone else's request", chromedp.Navigate(base+"/dashboard/requests/"+req.ID),
		chromedp.WaitVisible(chromedp.CSS(`main`)))
	page := value(t, dave, "read the page", chromedp.Text(chromedp.CSS(`main`)))
	if !strings.Contains(page, "not found") || strings.Contains(page, "111122223333") {
		t.Fatalf("Dave opened Alice's request:\n%s", page)
	}
}
