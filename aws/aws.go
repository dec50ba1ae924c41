// Package aws is Drawbridge's provider for AWS IAM Identity Center: a grant
// is an account assignment (account, permission set, Identity Store user),
// created and deleted through the ssoadmin API and confirmed by polling the
// asynchronous status calls before Grant or Revoke returns.
//
// Beside the provider it resolves people and their groups in the Identity
// Store (NewDirectory, PrincipalRef), accounts' OU paths and tags in AWS
// Organizations (OrgCatalog), reads permission sets' session durations and
// lists assignments for drift reconciliation.
//
// Identity Center's quotas are respected in-process: one token bucket
// (Config.MaxTPS) spaces every Identity Center and Identity Store call of a
// Provider, and a semaphore (Config.MaxInFlight) bounds the asynchronous
// assignment operations it has in flight, each held from the create or
// delete until its status is terminal.
//
// The SDK's own retries are off: the broker and the expiry engine own retries
// and record every attempt in the audit trail. Errors are classified once,
// here: throttling, conflicts, server errors, timeouts and network failures
// are returned plain (worth retrying); access denied, validation, unknown
// resources and exhausted service quotas are wrapped with
// drawbridge.Permanent.
//
// Revoking an assignment does not end role sessions already issued from it:
// they live until the permission set's session duration ends, so JIT
// permission sets should have short session durations.
package aws

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/singleflight"

	"github.com/drawbridge-jit/drawbridge"
)

// Config configures the provider.
type Config struct {
	// Name is the configured instance name (providers.<name>), which the
	// entitlements it lists carry; default "aws".
	Name            string
	Region          string
	InstanceARN     string
	IdentityStoreID string
	// PermissionSets maps the permission set names used in entitlements to
	// their ARNs.
	PermissionSets map[string]string
	// Endpoint, when set, is the client's BaseEndpoint (the emulator). With
	// an endpoint and no static credentials, fixed test credentials are used
	// and neither the environment nor ~/.aws is read, so a fresh machine
	// never goes looking for AWS credentials. Region defaults to us-east-1.
	Endpoint string
	// AccessKeyID and SecretAccessKey are optional static credentials;
	// without them (and without Endpoint) the default credential chain is
	// used.
	AccessKeyID, SecretAccessKey string
	// PollInterval is the wait between status calls; default 1s.
	PollInterval time.Duration
	HTTPClient   *http.Client

	// UserAttribute is the Identity Store attribute that PrincipalRef and
	// NewDirectory match a person's canonical id (their lower-cased email)
	// against when the directory has no AWS user id for them:
	// "emails.value" (the default) or "userName" (when user names are
	// emails). Lookups need IdentityStoreID.
	UserAttribute string
	// IdentityCacheTTL is how long user ids and group memberships read
	// from the Identity Store are reused; 0 means DefaultIdentityCacheTTL,
	// negative disables the cache.
	IdentityCacheTTL time.Duration
	// ResolveGroups makes NewDirectory add the display names of the
	// person's Identity Store groups to Principal.Groups.
	ResolveGroups bool
	// MaxTPS caps calls per second across the Identity Center and
	// Identity Store APIs; 0 means DefaultMaxTPS, negative unlimited.
	MaxTPS float64
	// MaxInFlight caps asynchronous assignment operations in flight; 0
	// means DefaultMaxInFlight, negative unlimited.
	MaxInFlight int
	// OrgMaxTPS caps calls per second to AWS Organizations (its own quota,
	// apart from Identity Center's); 0 means DefaultOrgMaxTPS, negative
	// unlimited.
	OrgMaxTPS float64
	// Now is the clock of the caches and of deny_old_sessions' cutoffs
	// and removals; nil means time.Now.
	Now func() time.Time

	// DenyOldSessions (end_sessions: [deny_old_sessions]) makes
	// EndSessions deny, through the permission set's inline policy, the
	// role sessions a revoked person was issued before the revocation
	// (see EndSessions). It needs Leases.
	DenyOldSessions bool
	// Leases serialise changes to one permission set's inline policy
	// across every process sharing the store; LeaseHolder names this
	// process in them.
	Leases      drawbridge.Leaser
	LeaseHolder string
}

// Defaults for Config's zero values. AWS publishes about 20 calls per second
// across the Identity Center APIs and at most 10 outstanding asynchronous
// assignment operations, neither adjustable.
//
// Organizations throttles each account's calls (TooManyRequestsException)
// at a rate AWS does not publish per operation; DefaultOrgMaxTPS keeps the
// catalog's bursts — a DescribeAccount, a ListParents per OU level and a
// ListTagsForResource for each account not seen yet — well under it.
const (
	DefaultMaxTPS           = 20
	DefaultMaxInFlight      = 10
	DefaultOrgMaxTPS        = 10
	DefaultIdentityCacheTTL = 5 * time.Minute
)

// Identity Store attribute paths a user can be looked up by.
const (
	AttributeEmail    = "emails.value"
	AttributeUserName = "userName"
)

// DefaultPollInterval is how often Grant and Revoke poll the asynchronous
// status when Config.PollInterval is zero. AWS allows about 20 calls per
// second across the API, so polling faster only spends that budget.
const DefaultPollInterval = time.Second

// maxPollErrors is how many retryable errors in a row a status poll
// tolerates before Grant or Revoke gives up and returns the last one. A
// throttled status call does not mean the change failed, so it is retried
// within the same attempt rather than repeating the create or delete.
const maxPollErrors = 5

// Fixed credentials for the emulator, which does not check signatures.
const (
	emulatorAccessKeyID     = "AKIDDRAWBRIDGEEMULATOR"
	emulatorSecretAccessKey = "drawbridge-emulator-secret"
)

var (
	instanceARNPattern      = regexp.MustCompile(`^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	permissionSetARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}$`)
	accountIDPattern        = regexp.MustCompile(`^\d{12}$`)
	// userIDPattern is AWS's pattern for Identity Store user ids, and so
	// for an account assignment's PrincipalId (the sso-admin and
	// identitystore service models): a UUID, optionally after ten hex
	// digits and a dash. AWS rejects any other principal id.
	userIDPattern = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
)

// Provider grants and revokes IAM Identity Center account assignments. It
// implements drawbridge.Provider and is safe for concurrent use.
type Provider struct {
	name            string
	client          *ssoadmin.Client
	identity        *identitystore.Client
	orgs            *organizations.Client
	instanceARN     string
	identityStoreID string
	permissionSets  map[string]string
	pollInterval    time.Duration

	inFlight   chan struct{} // a slot per assignment operation; nil = unlimited
	grantSlots chan struct{} // the in-flight slots creations may take (see removalReserve); nil = all
	sleep      func(context.Context, time.Duration) error

	userAttribute string
	resolveGroups bool
	now           func() time.Time
	users         *ttlCache[string, string]   // attribute value -> user id
	memberOf      *ttlCache[string, []string] // user id -> group display names
	groupNames    *ttlCache[string, string]   // group id -> display name
	flight        singleflight.Group

	denyOld     bool
	leases      drawbridge.Leaser
	leaseHolder string

	// noPrincipalListing: AWS refused ListAccountAssignmentsForPrincipal
	// (a role whose policy predates it), so Exists lists the account.
	noPrincipalListing atomic.Bool
}

var (
	_ drawbridge.Provider     = (*Provider)(nil)
	_ drawbridge.SessionEnder = (*Provider)(nil)
)

// New validates cfg and returns a provider. Against real AWS it loads the
// default configuration (environment, shared config files, instance roles).
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	c, err := newClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "aws"
	}
	p := &Provider{
		name:            cfg.Name,
		client:          c.ssoAdmin,
		identity:        c.identityStore,
		orgs:            c.organizations,
		instanceARN:     cfg.InstanceARN,
		identityStoreID: cfg.IdentityStoreID,
		permissionSets:  maps.Clone(cfg.PermissionSets),
		pollInterval:    cfg.PollInterval,
		userAttribute:   cfg.UserAttribute,
		resolveGroups:   cfg.ResolveGroups,
		now:             cfg.Now,
		denyOld:         cfg.DenyOldSessions,
		leases:          cfg.Leases,
		leaseHolder:     cfg.LeaseHolder,
		sleep:           sleep,
	}
	if cfg.MaxInFlight > 0 {
		p.inFlight = make(chan struct{}, cfg.MaxInFlight)
		if r := removalReserve(cfg.MaxInFlight); r > 0 {
			p.grantSlots = make(chan struct{}, cfg.MaxInFlight-r)
		}
	}
	p.users = newTTLCache[string, string](cfg.IdentityCacheTTL, cfg.Now)
	p.memberOf = newTTLCache[string, []string](cfg.IdentityCacheTTL, cfg.Now)
	p.groupNames = newTTLCache[string, string](cfg.IdentityCacheTTL, cfg.Now)
	return p, nil
}

func validate(cfg *Config) error {
	invalid := func(format string, args ...any) error {
		return drawbridge.Errorf(drawbridge.EINVALID, "aws: "+format, args...)
	}
	if cfg.InstanceARN == "" {
		return invalid("instance ARN is required (the IAM Identity Center instance, e.g. arn:aws:sso:::instance/ssoins-1234567890abcdef)")
	}
	if !instanceARNPattern.MatchString(cfg.InstanceARN) {
		return invalid("instance ARN %q is not an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-<16 characters>)", cfg.InstanceARN)
	}
	if cfg.DenyOldSessions && (cfg.Leases == nil || cfg.LeaseHolder == "") {
		return invalid("deny_old_sessions needs the store's leases and a holder name, to serialise changes to a permission set's inline policy")
	}
	if len(cfg.PermissionSets) == 0 {
		return invalid("no permission sets configured: map each permission set name to its ARN")
	}
	for _, name := range sortedKeys(cfg.PermissionSets) {
		arn := cfg.PermissionSets[name]
		if strings.TrimSpace(name) == "" {
			return invalid("a permission set has an empty name (ARN %q)", arn)
		}
		if !permissionSetARNPattern.MatchString(arn) {
			return invalid("permission set %s: %q is not a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)", name, arn)
		}
		if inst := cfg.InstanceARN[strings.LastIndex(cfg.InstanceARN, "/")+1:]; !strings.Contains(arn, "/"+inst+"/") {
			return invalid("permission set %s: ARN %q belongs to another instance than %s", name, arn, cfg.InstanceARN)
		}
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		if cfg.Region == "" {
			cfg.Region = "us-east-1"
		}
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return invalid("access key id and secret access key must be set together")
	}
	if cfg.PollInterval < 0 {
		return invalid("poll interval %s is negative", cfg.PollInterval)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	switch cfg.UserAttribute {
	case "":
		cfg.UserAttribute = AttributeEmail
	case AttributeEmail, AttributeUserName:
	default:
		return invalid("user attribute %q is not %s or %s", cfg.UserAttribute, AttributeEmail, AttributeUserName)
	}
	if cfg.ResolveGroups && cfg.IdentityStoreID == "" {
		return invalid("resolving Identity Store groups needs the identity store id (d-…, shown in the IAM Identity Center settings)")
	}
	if cfg.IdentityCacheTTL == 0 {
		cfg.IdentityCacheTTL = DefaultIdentityCacheTTL
	}
	if cfg.MaxTPS == 0 {
		cfg.MaxTPS = DefaultMaxTPS
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.OrgMaxTPS == 0 {
		cfg.OrgMaxTPS = DefaultOrgMaxTPS
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// clients are the SDK clients of one Provider. Identity Center and the
// Identity Store share a rate limiter; Organizations, a separate service
// with a quota of its own, has its own limiter.
type clients struct {
	ssoAdmin      *ssoadmin.Client
	identityStore *identitystore.Client
	organizations *organizations.Client
}

func newClients(ctx context.Context, cfg Config) (*clients, error) {
	var awsCfg awssdk.Config
	var static awssdk.CredentialsProvider
	if cfg.AccessKeyID != "" {
		static = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	}
	if cfg.Endpoint != "" {
		// Built by hand rather than by LoadDefaultConfig, so that nothing
		// from the environment or ~/.aws (a profile, a region, a credential
		// process) leaks into a sandbox or test run.
		if static == nil {
			static = credentials.NewStaticCredentialsProvider(emulatorAccessKeyID, emulatorSecretAccessKey, "")
		}
		awsCfg = awssdk.Config{Region: cfg.Region, Credentials: static}
	} else {
		var opts []func(*config.LoadOptions) error
		if cfg.Region != "" {
			opts = append(opts, config.WithRegion(cfg.Region))
		}
		if static != nil {
			opts = append(opts, config.WithCredentialsProvider(static))
		}
		var err error
		awsCfg, err = config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, drawbridge.Errorf(drawbridge.EINVALID, "aws: load AWS configuration: %v", err)
		}
		if awsCfg.Region == "" {
			return nil, drawbridge.Errorf(drawbridge.EINVALID, "aws: region is required: set it in the provider configuration or AWS_REGION")
		}
	}
	var httpClient awssdk.HTTPClient = newHTTPClient()
	if cfg.HTTPClient != nil {
		httpClient = cfg.HTTPClient
	}
	awsCfg.HTTPClient = bodyGuard{next: httpClient}
	endpoint := func(p **string) {
		if cfg.Endpoint != "" {
			*p = awssdk.String(cfg.Endpoint)
		}
	}
	var limit func(*middleware.Stack) error
	if cfg.MaxTPS > 0 {
		limit = rateLimit(newLimiter(cfg.MaxTPS))
	}
	withLimit := func(opts []func(*middleware.Stack) error) []func(*middleware.Stack) error {
		if limit == nil {
			return opts
		}
		return append(opts, limit)
	}
	orgOpts := func(o *organizations.Options) {
		if cfg.OrgMaxTPS > 0 {
			o.APIOptions = append(o.APIOptions, rateLimit(newLimiter(cfg.OrgMaxTPS)))
		}
	}
	return &clients{
		ssoAdmin: ssoadmin.NewFromConfig(awsCfg, func(o *ssoadmin.Options) {
			endpoint(&o.BaseEndpoint)
			o.APIOptions = withLimit(o.APIOptions)
			o.Retryer = awssdk.NopRetryer{}
			o.RetryMaxAttempts = 0
		}),
		identityStore: identitystore.NewFromConfig(awsCfg, func(o *identitystore.Options) {
			endpoint(&o.BaseEndpoint)
			o.APIOptions = withLimit(o.APIOptions)
			o.Retryer = awssdk.NopRetryer{}
			o.RetryMaxAttempts = 0
		}),
		organizations: organizations.NewFromConfig(awsCfg, func(o *organizations.Options) {
			endpoint(&o.BaseEndpoint)
			orgOpts(o)
			o.Retryer = awssdk.NopRetryer{}
			o.RetryMaxAttempts = 0
		}),
	}, nil
}

// Name is the provider key in entitlements.
func (p *Provider) Name() string { return p.name }

// PermissionSetNames returns the configured permission set names, sorted.
func (p *Provider) PermissionSetNames() []string { return sortedKeys(p.permissionSets) }

// InstanceARN is the configured IAM Identity Center instance.
func (p *Provider) InstanceARN() string { return p.instanceARN }

// IdentityStoreID is the configured Identity Store, "" when not set.
func (p *Provider) IdentityStoreID() string { return p.identityStoreID }

// Exists reports whether the user assignment exists. It asks about the one
// user in the one account (ListAccountAssignmentsForPrincipal filtered by
// the account, every page), so its cost is what that user holds there, not
// what everyone holds in the account: a grant's standing-access check is
// one call against Identity Center's 20 calls/s, however many people share
// the permission set. When AWS refuses that call (AccessDeniedException:
// an IAM policy written before Drawbridge used it), Exists reads the
// account's listing instead, from then on. AWS does not document either
// listing as strongly consistent: right after a create or delete it may
// still show the state before it, so one answer taken then is no proof
// either way.
func (p *Provider) Exists(ctx context.Context, a drawbridge.Assignment) (bool, error) {
	const op = "ListAccountAssignmentsForPrincipal"
	psARN, err := p.check(op, a)
	if err != nil {
		return false, err
	}
	if p.noPrincipalListing.Load() {
		return p.existsInAccount(ctx, a, psARN)
	}
	pages := ssoadmin.NewListAccountAssignmentsForPrincipalPaginator(p.client, &ssoadmin.ListAccountAssignmentsForPrincipalInput{
		InstanceArn:   &p.instanceARN,
		PrincipalId:   &a.PrincipalRef,
		PrincipalType: types.PrincipalTypeUser,
		Filter:        &types.ListAccountAssignmentsFilter{AccountId: &a.Resource},
	})
	for pages.HasMorePages() {
		var out *ssoadmin.ListAccountAssignmentsForPrincipalOutput
		err := retryRead(ctx, p.sleep, func() error {
			var err error
			out, err = pages.NextPage(ctx)
			return classifyAbout(op, describe(a), err)
		})
		if hasCode(err, "AccessDeniedException") {
			p.noPrincipalListing.Store(true)
			return p.existsInAccount(ctx, a, psARN)
		}
		if err != nil {
			return false, err
		}
		for _, x := range out.AccountAssignments {
			// The filter is AWS's; the match is ours, on every member.
			if x.PrincipalType == types.PrincipalTypeUser && awssdk.ToString(x.PrincipalId) == a.PrincipalRef &&
				awssdk.ToString(x.AccountId) == a.Resource && awssdk.ToString(x.PermissionSetArn) == psARN {
				return true, nil
			}
		}
	}
	return false, nil
}

// existsInAccount is Exists by reading every page of ListAccountAssignments
// for the account and permission set.
func (p *Provider) existsInAccount(ctx context.Context, a drawbridge.Assignment, psARN string) (bool, error) {
	const op = "ListAccountAssignments"
	pages := ssoadmin.NewListAccountAssignmentsPaginator(p.client, &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn:      &p.instanceARN,
		AccountId:        &a.Resource,
		PermissionSetArn: &psARN,
	})
	for pages.HasMorePages() {
		out, err := p.nextAssignmentsPage(ctx, pages, op, describe(a))
		if err != nil {
			return false, err
		}
		for _, x := range out.AccountAssignments {
			if x.PrincipalType == types.PrincipalTypeUser && awssdk.ToString(x.PrincipalId) == a.PrincipalRef {
				return true, nil
			}
		}
	}
	return false, nil
}

// newHTTPClient is the HTTP client under bodyGuard when Config.HTTPClient
// is nil: the standard library's transport, with enough idle connections
// per host for the provider's concurrency. No client-wide timeout: every
// call is bounded by its context.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t}
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// check validates a and returns the permission set's ARN.
func (p *Provider) check(op string, a drawbridge.Assignment) (string, error) {
	if !accountIDPattern.MatchString(a.Resource) {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"aws: %s %s: account id must be 12 digits", op, describe(a)))
	}
	if a.PrincipalRef == "" {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"aws: %s %s: no principal (Identity Store user id)", op, describe(a)))
	}
	arn, ok := p.permissionSets[a.Role]
	if !ok {
		return "", drawbridge.Permanent(drawbridge.Errorf(drawbridge.EINVALID,
			"aws: %s %s: unknown permission set %q (configured: %s)", op, describe(a), a.Role, strings.Join(p.PermissionSetNames(), ", ")))
	}
	return arn, nil
}

// describe names an assignment in errors: account/permission set for user.
func describe(a drawbridge.Assignment) string {
	return fmt.Sprintf("%s/%s for %s", a.Resource, a.Role, a.PrincipalRef)
}
