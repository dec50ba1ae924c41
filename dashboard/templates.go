package dashboard

import (
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "0s"
		}
		return duration.Format(d)
	},
	// state is the CSS class of a state's badge.
	"state": func(s drawbridge.State) string { return "st-" + strings.ToLower(string(s)) },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
	// dict hands a sub-template the CSRF token and its data.
	"dict": func(csrf string, d any) map[string]any { return map[string]any{"csrf": csrf, "d": d} },
	"has":  func(c drawbridge.Caller, r string) bool { return c.Has(drawbridge.Role(r)) },
}

// parsePages parses each page with the shared layout. The templates are
// embedded, so a parse error is a bug caught by every test.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	pages := map[string]*template.Template{}
	for name := range titles {
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
