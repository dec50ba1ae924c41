package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// Problem is one thing wrong with a policy or cases file, at the position
// of the key or value at fault.
type Problem struct {
	File    string
	Line    int
	Col     int
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
}

// ValidationError lists every problem found in a file, so that one run of
// `drawbridge policy check` shows them all.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the error as an EINVALID *drawbridge.Error, so channels
// map a bad policy to a usage error without knowing this package.
func (e *ValidationError) Unwrap() error {
	return &drawbridge.Error{Code: drawbridge.EINVALID, Message: e.Error()}
}

// parser collects problems while walking the YAML node tree; walking nodes
// (rather than unmarshalling into structs) is what gives every key and value
// its line and column, and lets unknown keys be reported with suggestions.
type parser struct {
	file  string
	probs []Problem
}

func (ps *parser) errAt(line, col int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	ps.probs = append(ps.probs, Problem{File: ps.file, Line: line, Col: col, Message: fmt.Sprintf(format, args...)})
}

func (ps *parser) errf(n *yaml.Node, format string, args ...any) {
	ps.errAt(n.Line, n.Column, format, args...)
}

func (ps *parser) err() error {
	if len(ps.probs) == 0 {
		return nil
	}
	slices.SortStableFunc(ps.probs, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return &ValidationError{Problems: ps.probs}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data into a single YAML document and returns its root
// mapping, or nil after recording why it cannot.
func (ps *parser) document(data []byte, example string) *yaml.Node {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.errAt(1, 1, "empty file; it must start with %s", example)
		} else {
			ps.yamlError(err)
		}
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		ps.errAt(1, 1, "empty file; it must start with %s", example)
		return nil
	}
	// A second document would be silently ignored by a reader that stops
	// at the first; refuse it so that what is reviewed is what is enforced.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := 1
		if err == nil {
			line = next.Line
		}
		ps.errAt(line, 1, "the file holds more than one YAML document (a second ---); keep one policy per file")
		return nil
	}
	if ps.noAliases(&doc) {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		ps.errf(root, "the file must be a mapping that starts with %s, not a %s", example, kindName(root))
		return nil
	}
	return root
}

// yamlError turns the YAML library's error into problems. The library
// reports a line but no column for syntax errors, so those point at column 1.
func (ps *parser) yamlError(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			line, _ := strconv.Atoi(sm[1])
			ps.errAt(line, 1, "invalid YAML: %s", sm[2])
			continue
		}
		ps.errAt(1, 1, "invalid YAML: %s", strings.TrimPrefix(m, "yaml: "))
	}
}

// noAliases rejects anchors and aliases: they make a rule's meaning depend
// on text elsewhere in the file and allow exponential expansion.
func (ps *parser) noAliases(n *yaml.Node) bool {
	found := false
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			ps.errf(n, "YAML anchors and aliases are not supported in this file; write the values out")
			found = true
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return found
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "bool"
		case "!!int":
			return "number"
		case "!!float":
			return "number"
		}
		return "string"
	}
	return "value"
}

// mapping walks a mapping node: it reports a non-mapping, non-string keys,
// duplicate keys and unknown keys (with a suggestion), and calls fn for each
// known key. It returns the set of keys seen.
func (ps *parser) mapping(n *yaml.Node, what string, valid []string, fn func(key string, k, v *yaml.Node)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		ps.errf(n, "%s must be a mapping of %s, not a %s", what, strings.Join(valid, ", "), kindName(n))
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.errf(k, "keys in %s must be plain names (valid: %s)", what, strings.Join(valid, ", "))
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			ps.errf(k, "duplicate key %q in %s (first at line %d); keep one", key, what, first.Line)
			continue
		}
		seen[key] = k
		if !slices.Contains(valid, key) {
			hint := ""
			if s := suggest(key, valid); s != "" {
				hint = fmt.Sprintf("did you mean %q? ", s)
			}
			ps.errf(k, "unknown key %q in %s (%svalid: %s)", key, what, hint, strings.Join(valid, ", "))
			continue
		}
		fn(key, k, v)
	}
	return seen
}

// str reads a scalar as a string. Numbers are accepted as written, so an
// unquoted account id keeps its exact digits; bools and nulls are not, since
// `name: true` or an empty value is almost certainly a mistake.
func (ps *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		ps.errf(n, "%s must be a string, not a %s", what, kindName(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int":
		return n.Value, true
	case "!!null":
		ps.errf(n, "%s is empty; give a value", what)
	default:
		ps.errf(n, "%s must be a string, not a %s (quote it if you mean the text %q)", what, kindName(n), n.Value)
	}
	return "", false
}

func (ps *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		ps.errf(n, "%s must be true or false, not a %s", what, kindName(n))
		return false, false
	}
	return n.Value == "true", true
}

func (ps *parser) integer(n *yaml.Node, what string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v, true
		}
	}
	ps.errf(n, "%s must be a whole number, not %s", what, describe(n))
	return 0, false
}

func (ps *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		ps.errf(n, "%s must be a duration with a unit such as 2h, 90m or 7d, not %s", what, describe(n))
		return 0, false
	}
	d, err := duration.Parse(n.Value)
	if err != nil {
		ps.errf(n, "%s: %v", what, err)
		return 0, false
	}
	if d <= 0 {
		ps.errf(n, "%s: duration %q must be positive", what, n.Value)
		return 0, false
	}
	return d, true
}

// strList reads a list of strings. A single scalar is refused with the
// list spelling, rather than accepted, so that the file has one shape.
func (ps *parser) strList(n *yaml.Node, what, example string) ([]string, []*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		ps.errf(n, "%s must be a list, e.g. %s", what, example)
		return nil, nil, false
	}
	if len(n.Content) == 0 {
		ps.errf(n, "%s is an empty list, which would match nothing; list values, e.g. %s", what, example)
		return nil, nil, false
	}
	var out []string
	var nodes []*yaml.Node
	ok := true
	for _, c := range n.Content {
		s, good := ps.str(c, what+" entry")
		if !good {
			ok = false
			continue
		}
		out = append(out, s)
		nodes = append(nodes, c)
	}
	return out, nodes, ok
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%s %q", kindName(n), n.Value)
	}
	return "a " + kindName(n)
}

// suggest returns the valid key closest to key when it is close enough to
// be a typo.
func suggest(key string, valid []string) string {
	best, bestD := "", 1<<30
	for _, v := range valid {
		if d := editDistance(strings.ToLower(key), v); d < bestD {
			best, bestD = v, d
		}
	}
	if bestD <= 2 || bestD <= len(best)/3 {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// cleanGroup is cleanName for group names, which may contain inner spaces
// (directory display names).
func cleanGroup(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// cleanName reports whether s is safe to use as a provider, resource, role
// or group name: no control characters (which also keeps NUL out of index
// keys) and no surrounding or inner whitespace.
func cleanName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
