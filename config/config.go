// Package config reads drawbridge.yaml: one file, unknown keys rejected with
// their line, ${ENV} expanded in values (so secrets stay out of the file),
// and relative paths resolved against the file's own directory so that every
// command, wherever it runs, opens the same store and policy.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/drawbridge-jit/drawbridge/grammar"
)

// Config is the whole drawbridge.yaml.
type Config struct {
	Server    Server    `yaml:"server"`
	Store     Store     `yaml:"store"`
	Policy    Policy    `yaml:"policy"`
	Directory Directory `yaml:"directory"`
	Accounts  []Account `yaml:"accounts"`
	Providers Providers `yaml:"providers"`
	Expiry    Expiry    `yaml:"expiry"`
	API       API       `yaml:"api"`
	Limits    Limits    `yaml:"limits"`
	Slack     Slack     `yaml:"slack"`
	// Notify lists where notifications go (docs/operations.md).
	Notify []Notifier `yaml:"notify"`
	// OIDC signs people in to the web pages; Roles give them roles.
	OIDC  *OIDC         `yaml:"oidc"`
	Roles []RoleBinding `yaml:"roles"`
	// ManagedGroups are computed from sign-in claims.
	ManagedGroups ManagedGroups `yaml:"managed_groups"`
	// Audit configures the audit log's signed checkpoints.
	Audit Audit `yaml:"audit"`

	// Path is the file the config was read from ("" for built-in defaults);
	// Dir is the directory relative paths are resolved against.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
}

// Server configures the HTTP listener.
type Server struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	// TLSCertFile and TLSKeyFile, when both set, make serve speak HTTPS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// AllowPlainHTTP lets serve listen without TLS on a non-loopback
	// address (behind a TLS-terminating proxy). Tokens travel in headers,
	// so plain HTTP off loopback is refused unless this is set.
	AllowPlainHTTP bool `yaml:"allow_plain_http"`
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string `yaml:"metrics_token"`
	// MaxBodyBytes caps a request body; a larger one is answered 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Connection limits (zero: the defaults of http.DefaultLimits, listed
	// in README): how long a client may take to send its headers and its
	// whole request, how long a response may take, how long an idle
	// keep-alive connection stays, the largest headers and the most
	// connections the listener holds at once.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    int      `yaml:"max_header_bytes"`
	MaxConnections    int      `yaml:"max_connections"`
}

// API configures the HTTP API's authorisation.
type API struct {
	// AllowWildcardScopes permits tokens scoped to every account or
	// permission set ("*"); off by default, so that broad read access is a
	// deliberate choice.
	AllowWildcardScopes bool `yaml:"allow_wildcard_scopes"`
}

// Store selects the database.
type Store struct {
	Driver string `yaml:"driver"` // sqlite (default) or postgres
	DSN    string `yaml:"dsn"`    // SQLite: a file path; PostgreSQL: a connection string
}

// Redacted returns the DSN with any password replaced by "***", for logs
// and messages: a URL's userinfo password and its password= query
// parameter, or the password= field of a key=value connection string
// (PostgreSQL's two forms). A SQLite path comes back unchanged.
func (s Store) Redacted() string {
	u, err := url.Parse(s.DSN)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return kvPassword.ReplaceAllString(s.DSN, "${1}***")
	}
	params := strings.Split(u.RawQuery, "&")
	for i, p := range params {
		if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
			params[i] = k + "=***"
		}
	}
	u.RawQuery = strings.Join(params, "&")
	_, hasPassword := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	out := u.String()
	if hasPassword {
		// The first "@" after the scheme ends the userinfo: String
		// escapes any "@" inside the user name.
		start := len(u.Scheme) + len("://")
		at := start + strings.Index(out[start:], "@")
		out = out[:at] + ":***" + out[at:]
	}
	return out
}

// kvPassword finds the password of a key=value connection string, quoted
// ('a b', with backslash escapes) or not.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Policy names the access rules file.
type Policy struct {
	File string `yaml:"file"`
}

// Directory is the static list of people and their groups.
type Directory struct {
	Users []User `yaml:"users"`
}

// User is one person in the static directory. Linked identities are
// written in identities (kind → id, drawbridge.IdentityKinds); slack_id and
// aws_user_id are the older keys for identities.slack and identities.aws.
type User struct {
	Email      string            `yaml:"email"`
	Name       string            `yaml:"name"`
	SlackID    string            `yaml:"slack_id"`
	AWSUserID  string            `yaml:"aws_user_id"`
	Identities map[string]string `yaml:"identities"`
	Groups     []string          `yaml:"groups"`
}

// LinkedIdentities returns the user's linked identities by kind, from
// identities and from slack_id and aws_user_id.
func (u User) LinkedIdentities() map[string]string {
	out := maps.Clone(u.Identities)
	if out == nil {
		out = map[string]string{}
	}
	if u.SlackID != "" {
		out[drawbridge.IdentitySlack] = u.SlackID
	}
	if u.AWSUserID != "" {
		out[drawbridge.IdentityAWS] = u.AWSUserID
	}
	return out
}

// Account is one AWS account in the offline catalog: its OU path (outermost
// first, so nested OUs count as inside their parents) and tags feed the
// policy's ou: and tag: selectors.
type Account struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Aliases are other names a request may give for the account
	// (request staging ReadOnlyAccess 0.5).
	Aliases []string          `yaml:"aliases"`
	OUs     []string          `yaml:"ous"`
	Tags    map[string]string `yaml:"tags"`
}

// AWS configures a provider of kind aws: IAM Identity Center.
type AWS struct {
	Region          string            `yaml:"region"`
	InstanceARN     string            `yaml:"instance_arn"`
	IdentityStoreID string            `yaml:"identity_store_id"`
	Endpoint        string            `yaml:"endpoint"`
	AccessKeyID     string            `yaml:"access_key_id"`
	SecretAccessKey string            `yaml:"secret_access_key"`
	PermissionSets  map[string]string `yaml:"permission_sets"`
	PollInterval    Duration          `yaml:"poll_interval"`
	// MaxTPS and MaxInFlight are Identity Center's quotas (20 calls/s, 10
	// assignment operations in flight); negative means unlimited.
	MaxTPS      float64 `yaml:"max_tps"`
	MaxInFlight int     `yaml:"max_in_flight"`
	// ResolveUsers looks people up in the Identity Store (their user id
	// when aws_user_id is not configured, and people given by email who are
	// not in directory.users); ResolveGroups adds their Identity Store
	// groups to the groups policy matches on.
	ResolveUsers     bool     `yaml:"resolve_users"`
	ResolveGroups    bool     `yaml:"resolve_groups"`
	UserAttribute    string   `yaml:"user_attribute"`
	IdentityCacheTTL Duration `yaml:"identity_cache_ttl"`
	// Organizations resolves ou: and tag: selectors from AWS Organizations
	// instead of the accounts catalog.
	Organizations Organizations `yaml:"organizations"`
}

// Organizations configures account lookups in AWS Organizations.
type Organizations struct {
	Enabled bool     `yaml:"enabled"`
	Refresh Duration `yaml:"refresh"`
}

// Expiry tunes the expiry engine.
type Expiry struct {
	// MaxSleep bounds how long the engine sleeps before re-reading the next
	// due time, so writes by other processes are seen.
	MaxSleep Duration `yaml:"max_sleep"`
	// Workers is how many revocations run at once.
	Workers int `yaml:"workers"`
	// ProviderTimeout bounds one provider call, status polling included.
	// Default 2m.
	ProviderTimeout Duration `yaml:"provider_timeout"`
	// ProvisionLease is how long a provisioning or revocation claimed by
	// one process is left to it before another (or the same after a
	// restart) resumes it. It must exceed ProviderTimeout by
	// drawbridge.LeaseMargin, so that no provider call is still running
	// when its work is taken over. Default ProviderTimeout + 30s.
	ProvisionLease Duration `yaml:"provision_lease"`
	// ReconcileInterval is how often the engine compares provider
	// assignments with grants (drift); 0 turns it off. Default 10m.
	ReconcileInterval Duration `yaml:"reconcile_interval"`
	// NoticeBefore is how long before its expiry an ACTIVE grant's
	// pre-expiry notice (grant.expiring) is due. Default 10m.
	NoticeBefore Duration `yaml:"notice_before"`
}

// Limits bounds what any request may ask for. The broker checks them, so
// they hold whichever channel a request comes through.
type Limits struct {
	// MinDuration is the shortest grant anyone may ask for; unset means
	// duration.DefaultMin (10s). The longest is a hard limit of 168h that
	// no setting raises.
	MinDuration Duration `yaml:"min_duration"`
}

// Duration is a time.Duration written in the grammar of package duration:
// "90s", "2h", "7d", "1d12h".
type Duration time.Duration

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses the one duration grammar every channel shares.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := duration.Parse(n.Value)
	if err != nil {
		return &durationError{line: n.Line, col: n.Column, err: err}
	}
	*d = Duration(v)
	return nil
}

// durationError is a duration that does not parse. The YAML decoder stops
// at it without saying which key it was under, so Parse finds the key from
// the position.
type durationError struct {
	line, col int
	err       error
}

func (e *durationError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }

// keyAt returns the dotted key path ("expiry.max_sleep",
// "directory.users[2].email") of the value at line:col, or "".
func keyAt(n *yaml.Node, line, col int, path string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if k := keyAt(c, line, col, path); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, v := n.Content[i].Value, n.Content[i+1]
			if path != "" {
				key = path + "." + key
			}
			if v.Line == line && v.Column == col {
				return key
			}
			if k := keyAt(v, line, col, key); k != "" {
				return k
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if k := keyAt(c, line, col, fmt.Sprintf("%s[%d]", path, i)); k != "" {
				return k
			}
		}
	}
	return ""
}

// DefaultFile is the config file looked up in the working directory.
const DefaultFile = "drawbridge.yaml"

// Load reads and validates the config at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(abs, data, os.LookupEnv)
}

// Parse reads a config from data; filename is used in messages and for
// resolving relative paths; lookup supplies ${ENV} values.
func Parse(filename string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	base := filepath.Base(filename)
	// Pass 1: strict decode, so unknown keys and wrong types are reported
	// with the line they are on.
	var strict Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&strict); err != nil && !errors.Is(err, io.EOF) {
		var de *durationError
		var doc yaml.Node
		if errors.As(err, &de) && yaml.Unmarshal(data, &doc) == nil {
			if key := keyAt(&doc, de.line, de.col, ""); key != "" {
				return nil, fmt.Errorf("%s:%d: %s: %v", base, de.line, key, de.err)
			}
		}
		return nil, yamlError(base, err)
	}
	// Pass 2: expand ${ENV} inside scalar values only, so an environment
	// value can never inject YAML structure.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(base, err)
	}
	var errs []string
	expandNode(&root, lookup, base, &errs)
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	cfg := &Config{}
	if len(root.Content) > 0 {
		if err := root.Decode(cfg); err != nil {
			return nil, yamlError(base, err)
		}
	}
	cfg.Path = filename
	cfg.Dir = filepath.Dir(filename)
	cfg.applyDefaults()
	if err := cfg.validate(base); err != nil {
		return nil, err
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func expandNode(n *yaml.Node, lookup func(string) (string, bool), file string, errs *[]string) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := envRef.FindStringSubmatch(m)[1]
			v, ok := lookup(name)
			if !ok {
				*errs = append(*errs, fmt.Sprintf("%s:%d:%d: environment variable %s is not set (referenced as %s)", file, n.Line, n.Column, name, m))
			}
			return v
		})
		return
	}
	for _, c := range n.Content {
		expandNode(c, lookup, file, errs)
	}
}

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)
	lineMsg      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// section names the YAML key path of each config type, for messages.
var section = map[string]string{
	"Config": "the top level", "Server": "server", "Store": "store", "Policy": "policy",
	"Directory": "directory", "User": "directory.users[]", "Account": "accounts[]",
	"Expiry": "expiry", "API": "api", "Limits": "limits", "Notifier": "notify[]", "OIDC": "oidc", "RoleBinding": "roles[]",
	"ManagedGroups": "managed_groups", "ManagedGroup": "managed_groups.groups[]",
}

// yamlError rewrites yaml.v3's messages into "file:line: message" lines a
// person can act on.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	var lines []string
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if m := unknownField.FindStringSubmatch(l); m != nil {
			out = append(out, fmt.Sprintf("%s:%s: unknown key %q in %s (check the spelling against the config reference in README.md)", file, m[1], m[2], section[m[3]]))
			continue
		}
		if m := lineMsg.FindStringSubmatch(l); m != nil {
			out = append(out, fmt.Sprintf("%s:%s: %s", file, m[1], m[2]))
			continue
		}
		out = append(out, file+": "+l)
	}
	return errors.New(strings.Join(out, "\n"))
}

func (c *Config) applyDefaults() {
	if c.Server.Listen == "" {
		c.Server.Listen = "127.0.0.1:8080"
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 64 << 10
	}
	if c.Store.Driver == "" {
		c.Store.Driver = "sqlite"
	}
	if c.Store.DSN == "" && c.Store.Driver == "sqlite" {
		c.Store.DSN = "drawbridge.db"
	}
	if c.Store.Driver == "sqlite" {
		c.Store.DSN = c.Resolve(c.Store.DSN)
	}
	if c.Policy.File == "" {
		c.Policy.File = "access_rules.yaml"
	}
	c.Policy.File = c.Resolve(c.Policy.File)
	c.Server.TLSCertFile = c.Resolve(c.Server.TLSCertFile)
	c.Server.TLSKeyFile = c.Resolve(c.Server.TLSKeyFile)
	if c.Expiry.MaxSleep == 0 {
		c.Expiry.MaxSleep = Duration(2 * time.Second)
	}
	if c.Expiry.ReconcileInterval == 0 {
		c.Expiry.ReconcileInterval = Duration(10 * time.Minute)
	}
	if c.Expiry.Workers == 0 {
		c.Expiry.Workers = 10
	}
	c.notifyDefaults()
	c.auditDefaults()
	if c.Expiry.NoticeBefore == 0 {
		c.Expiry.NoticeBefore = Duration(10 * time.Minute)
	}
	if c.Expiry.ProviderTimeout == 0 {
		c.Expiry.ProviderTimeout = Duration(drawbridge.DefaultProviderTimeout)
	}
	if c.Expiry.ProvisionLease == 0 {
		c.Expiry.ProvisionLease = c.Expiry.ProviderTimeout + Duration(drawbridge.DefaultLeaseSlack)
	}
	if c.Server.WriteTimeout == 0 {
		// A submit or an approval answers after provisioning.
		c.Server.WriteTimeout = c.Expiry.ProviderTimeout + Duration(time.Minute)
	}
	if c.Limits.MinDuration == 0 {
		c.Limits.MinDuration = Duration(duration.DefaultMin)
	}
	if c.Slack.Command == "" {
		c.Slack.Command = "/boundary"
	}
	c.oidcDefaults()
	for _, p := range c.Providers {
		if d := kinds[p.Kind].defaults; d != nil {
			d(p)
		}
	}
}

// Resolve makes a path relative to the config file's directory absolute.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// validateDirectory checks that each entry is one person: an ASCII email
// (drawbridge.CheckEmail) that no other entry has, and linked identities
// no other entry shares. Two entries for one person would let that person
// approve their own request, or count twice towards a quorum; both entries
// are named so the operator can see which one to remove.
func (c *Config) validateDirectory(add func(format string, args ...any)) {
	type owner struct {
		i     int
		email string
	}
	seen := map[string]owner{}
	for i, u := range c.Directory.Users {
		if err := drawbridge.CheckEmail(u.Email); err != nil {
			add("directory.users[%d]: %v", i, err)
			continue
		}
		for kind, old := range map[string]string{drawbridge.IdentitySlack: u.SlackID, drawbridge.IdentityAWS: u.AWSUserID} {
			if _, both := u.Identities[kind]; both && old != "" {
				add("directory.users[%d] (%s): give %s or identities.%s, not both (they are the same identity)", i, u.Email, linkedKey[kind], kind)
			}
		}
		for _, kind := range slices.Sorted(maps.Keys(u.Identities)) {
			if err := drawbridge.CheckIdentity(kind, u.Identities[kind]); err != nil {
				add("directory.users[%d] (%s): identities.%s: %v", i, u.Email, kind, err)
			}
		}
		ids := u.LinkedIdentities()
		if id := ids[drawbridge.IdentityAWS]; id != "" && !awsUserID.MatchString(id) {
			add("directory.users[%d] (%s): aws_user_id %q is not an Identity Store user id: AWS issues them as a UUID, optionally after ten hex digits and a dash (9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001); find it with `aws identitystore get-user-id` (docs/aws-setup.md)",
				i, u.Email, id)
		}
		keys := []struct{ key, what string }{{"email:" + drawbridge.CanonicalPrincipalID(u.Email), "email " + drawbridge.CanonicalPrincipalID(u.Email)}}
		p := drawbridge.Principal{Identities: ids}
		for _, id := range p.LinkedIdentities() {
			kind, v, _ := strings.Cut(id, ":")
			keys = append(keys, struct{ key, what string }{id, identityKey(kind) + " " + v})
		}
		for _, k := range keys {
			if o, dup := seen[k.key]; dup {
				add("directory.users[%d] (%s) has the %s of directory.users[%d] (%s): one entry is one person, and two entries that are the same person could approve their own requests; merge them into one entry",
					i, u.Email, k.what, o.i, o.email)
				continue
			}
			seen[k.key] = owner{i, u.Email}
		}
	}
}

// validateRanges rejects numbers no command can use: a negative duration
// (Go's syntax accepts "-1s") or worker count would stall the expiry
// engine or make it spin, and a NaN rate would disable the AWS quota.
func (c *Config) validateRanges(add func(format string, args ...any)) {
	nonNegative := func(key string, d Duration) {
		if d < 0 {
			add("%s is %s: it must not be negative", key, d.Std())
		}
	}
	if c.Expiry.Workers < 1 {
		add("expiry.workers is %d: give at least 1 (default 10)", c.Expiry.Workers)
	}
	if c.Expiry.MaxSleep <= 0 {
		add("expiry.max_sleep is %s: it must be positive (default 2s)", c.Expiry.MaxSleep.Std())
	}
	nonNegative("server.read_header_timeout", c.Server.ReadHeaderTimeout)
	nonNegative("server.read_timeout", c.Server.ReadTimeout)
	nonNegative("server.write_timeout", c.Server.WriteTimeout)
	nonNegative("server.idle_timeout", c.Server.IdleTimeout)
	if n := c.Server.MaxHeaderBytes; n != 0 && (n < 4<<10 || n > 1<<20) {
		add("server.max_header_bytes %d is out of range: give 4096 to 1048576 bytes (default 32768)", n)
	}
	if n := c.Server.MaxConnections; n < 0 || n > 100000 {
		add("server.max_connections %d is out of range: give 1 to 100000 (default 256)", n)
	}
	if w, p := c.Server.WriteTimeout.Std(), c.Expiry.ProviderTimeout.Std(); w >= 0 && p > 0 && w <= p {
		add("server.write_timeout %s is not longer than expiry.provider_timeout %s: a submit or an approval answers after provisioning, "+
			"so its answer would be cut off; give more than the provider timeout, or leave it out to get %s", w, p, p+time.Minute)
	}
	nonNegative("expiry.provision_lease", c.Expiry.ProvisionLease)
	if timeout, lease := c.Expiry.ProviderTimeout.Std(), c.Expiry.ProvisionLease.Std(); timeout < 0 {
		add("expiry.provider_timeout is %s: it must be positive (default %s)", timeout, drawbridge.DefaultProviderTimeout)
	} else if lease >= 0 && lease < timeout+drawbridge.LeaseMargin {
		add("expiry.provision_lease %s is too short for expiry.provider_timeout %s: a provider call still running when its lease ends would be started again by another process; set provision_lease to at least %s (the timeout plus %s), or leave it out to get %s",
			lease, timeout, timeout+drawbridge.LeaseMargin, drawbridge.LeaseMargin, timeout+drawbridge.DefaultLeaseSlack)
	}
	nonNegative("expiry.reconcile_interval", c.Expiry.ReconcileInterval)
	nonNegative("expiry.notice_before", c.Expiry.NoticeBefore)
	switch m := c.Limits.MinDuration.Std(); {
	case m < time.Second:
		add("limits.min_duration %s is below 1s; a grant shorter than a second would report duration_seconds 0: use e.g. 10s", duration.Format(m))
	case m > duration.HardMax:
		add("limits.min_duration %s is above the hard limit of %gh (%s) for one grant, so no request could be made; use e.g. 10s", duration.Format(m), duration.HardMax.Hours(), duration.Format(duration.HardMax))
	}
}

// linkedKey names the older config key of the kinds of linked identity
// that have one.
var linkedKey = map[string]string{drawbridge.IdentitySlack: "slack_id", drawbridge.IdentityAWS: "aws_user_id"}

// identityKey names, for messages, the config key of a kind of linked
// identity (drawbridge.Principal.LinkedIdentities).
func identityKey(kind string) string {
	if k, ok := linkedKey[kind]; ok {
		return k
	}
	return "identities." + kind
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// awsUserID is the pattern AWS's service models give Identity Store user
// ids and an account assignment's PrincipalId; AWS rejects anything else.
var awsUserID = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)

func (c *Config) validate(file string) error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, file+": "+fmt.Sprintf(format, args...)) }
	switch c.Store.Driver {
	case "sqlite":
	case "postgres":
		if c.Store.DSN == "" {
			add("store.dsn is required with driver postgres: a URL such as postgres://drawbridge:${DRAWBRIDGE_DB_PASSWORD}@db.internal:5432/drawbridge?sslmode=verify-full (docs/operations.md)")
		}
	default:
		add("store.driver %q is not supported: use sqlite (one server, the default) or postgres (several replicas)", c.Store.Driver)
	}
	c.validateDirectory(add)
	ids := map[string]bool{}
	for i, a := range c.Accounts {
		if !accountID.MatchString(a.ID) {
			add("accounts[%d]: id %q must be a 12-digit AWS account id (quote it in YAML: \"012345678901\")", i, a.ID)
		}
		if ids[a.ID] {
			add("accounts[%d]: account %s is listed twice", i, a.ID)
		}
		ids[a.ID] = true
	}
	aliases := map[string]int{}
	for i, a := range c.Accounts {
		for _, al := range a.Aliases {
			switch prev, dup := aliases[al]; {
			case drawbridge.CheckID("alias", al) != nil || strings.Contains(al, ":") || accountID.MatchString(al):
				add("accounts[%d]: alias %q: use a name without spaces or \":\" that is not 12 digits (a request reads 12 digits as an account id and <provider>:<resource> as a provider's resource)", i, al)
			case grammar.LooksLikePerson(al):
				add("accounts[%d]: alias %q is written as a person (an email or a Slack user id), which a request may name first as the requester: use another name", i, al)
			case dup:
				add("accounts[%d]: alias %q is already an alias of accounts[%d]: each alias must mean one account", i, al, prev)
			default:
				aliases[al] = i
			}
		}
	}
	if n := c.Server.MaxBodyBytes; n < 1<<10 || n > 16<<20 {
		add("server.max_body_bytes %d is out of range: give 1024 to 16777216 bytes (default 65536)", n)
	}
	c.validateRanges(add)
	if (c.Server.TLSCertFile == "") != (c.Server.TLSKeyFile == "") {
		add("server.tls_cert_file and server.tls_key_file go together: set both or neither")
	}
	c.validateProviders(add)
	c.validateSlack(add)
	c.validateNotify(add)
	c.validateOIDC(add)
	c.validateManagedGroups(add)
	c.validateAudit(add)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}
