package aws

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"golang.org/x/sync/singleflight"

	"github.com/drawbridge-jit/drawbridge"
)

// DefaultOrgRefresh is how long an account's OU path and tags are used
// before they are read again, when OrgOptions.Refresh is zero.
const DefaultOrgRefresh = 10 * time.Minute

// orgLookupTimeout bounds the AWS calls Check makes for an account it has
// not seen yet: Catalog's methods take no context.
const orgLookupTimeout = 10 * time.Second

// maxOUDepth bounds the walk up the organisation tree. AWS allows OUs five
// levels deep under the root; the margin is for safety, not for AWS.
const maxOUDepth = 10

// OrgOptions configure an OrgCatalog.
type OrgOptions struct {
	// Refresh is how long an account's OU path and tags are used before
	// they are read again; the background loop started by Start re-reads
	// them at half that age, so requests rarely wait for AWS.
	Refresh time.Duration
	// Logger receives refresh failures (the old answer stays in use);
	// nil discards them.
	Logger *slog.Logger
}

// OrgCatalog is the catalog of an AWS provider (a drawbridge.ProviderCatalog)
// whose accounts, with their OU paths and tags for policy's ou: and tag:
// selectors, come from AWS Organizations instead of the configuration.
// Known permission sets, aliases and an optional configured account
// allow-list are checked by the base catalog. Build it with
// Provider.Catalog; it is safe for concurrent use.
//
// The AWS credentials need organizations:DescribeAccount, ListParents and
// ListTagsForResource, so the broker must run in the management account or
// a delegated administrator account for Organizations.
type OrgCatalog struct {
	base    drawbridge.ProviderCatalog
	client  *organizations.Client
	refresh time.Duration
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	logger  *slog.Logger

	mu       sync.Mutex
	accounts map[string]*orgEntry
	flight   singleflight.Group
	ouParent *ttlCache[string, string] // OU id -> parent id, shared by accounts

	startOnce sync.Once
	ctx       context.Context // ends with Close; lookups use it
	cancel    context.CancelFunc
	done      chan struct{} // closed when the refresh loop has ended
}

// orgEntry is what Organizations said about one account.
type orgEntry struct {
	ous     []string // outermost first
	tags    map[string]string
	err     error // the account cannot be requested (not in the organisation, suspended)
	fetched time.Time
}

var _ drawbridge.ProviderCatalog = (*OrgCatalog)(nil)

// Catalog returns a catalog that resolves AWS accounts through
// Organizations on top of base. Call Start to refresh in the background and
// Close to stop; without Start, expired answers are re-read on demand.
func (p *Provider) Catalog(base drawbridge.ProviderCatalog, opts OrgOptions) *OrgCatalog {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultOrgRefresh
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &OrgCatalog{
		base: base, client: p.orgs, refresh: opts.Refresh, now: p.now, sleep: p.sleep, logger: opts.Logger,
		accounts: map[string]*orgEntry{},
		ouParent: newTTLCache[string, string](opts.Refresh, p.now),
		ctx:      ctx, cancel: cancel,
	}
}

// Start refreshes known accounts in the background until ctx ends or Close
// is called. Calling it again does nothing.
func (c *OrgCatalog) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		c.done = make(chan struct{})
		go func() {
			defer close(c.done)
			t := time.NewTicker(c.refresh / 2)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-c.ctx.Done():
					return
				case <-t.C:
					c.Refresh(c.ctx)
				}
			}
		}()
	})
}

// Close stops the background refresh and waits for it to end, and makes
// lookups still waiting on AWS return. It is safe to call more than once.
func (c *OrgCatalog) Close() error {
	c.cancel()
	c.startOnce.Do(func() {}) // a later Start starts nothing
	if c.done != nil {
		<-c.done
	}
	return nil
}

// Refresh re-reads every known account whose answer is at least half the
// refresh period old, one at a time, and forgets accounts that could not be
// requested (they are looked up again when asked for). A failed re-read
// keeps the old answer and is logged.
func (c *OrgCatalog) Refresh(ctx context.Context) {
	c.mu.Lock()
	var due []string
	now := c.now()
	for id, e := range c.accounts {
		switch {
		case e.err != nil:
			delete(c.accounts, id)
		case now.Sub(e.fetched) >= c.refresh/2:
			due = append(due, id)
		}
	}
	c.mu.Unlock()
	slices.Sort(due)
	for _, id := range due {
		if ctx.Err() != nil {
			return
		}
		if _, err := c.fetch(ctx, id); err != nil {
			c.logger.Warn("aws organizations: refresh failed; keeping the previous OU path and tags", "account", id, "error", err)
		}
	}
}

// Resources lists the base catalog's accounts, when it has a list (drift
// reconciliation looks at those).
func (c *OrgCatalog) Resources() []string { return c.base.Resources() }

// Lookup returns the account id ref stands for (an alias in the base
// catalog, or an id).
func (c *OrgCatalog) Lookup(ref string) (string, bool) { return c.base.Lookup(ref) }

// Check returns an EINVALID error when role on account is not requestable:
// a malformed account id, a permission set the base catalog does not know,
// or an account that is not an active member of the organisation.
func (c *OrgCatalog) Check(account, role string) error {
	if !accountIDPattern.MatchString(account) {
		return drawbridge.Errorf(drawbridge.EINVALID, "account id %q is malformed: it must be 12 digits, e.g. 123456789012", account)
	}
	if err := c.base.Check(account, role); err != nil {
		return err
	}
	_, err := c.lookup(account)
	return err
}

// ResourceAttrs returns the account's OU path (outermost first, so nested
// OUs count as inside their parents) and tags. An account that cannot be
// resolved has none, so ou: and tag: selectors do not match it.
func (c *OrgCatalog) ResourceAttrs(account string) ([]string, map[string]string) {
	entry, err := c.lookup(account)
	if err != nil {
		return nil, nil
	}
	return slices.Clone(entry.ous), maps.Clone(entry.tags)
}

// lookup returns the account's entry, reading it from AWS when it is
// missing or older than the refresh period. When AWS cannot be reached, an
// old answer is better than none: OU moves are rare.
func (c *OrgCatalog) lookup(account string) (*orgEntry, error) {
	c.mu.Lock()
	old := c.accounts[account]
	c.mu.Unlock()
	if old != nil && c.fresh(old) {
		return old, old.err
	}
	ctx, cancel := context.WithTimeout(c.ctx, orgLookupTimeout)
	defer cancel()
	e, err := c.fetch(ctx, account)
	if err == nil {
		return e, e.err
	}
	if old != nil && old.err == nil {
		c.logger.Warn("aws organizations: lookup failed; using the previous OU path and tags", "account", account, "error", err)
		return old, nil
	}
	return nil, drawbridge.Errorf(drawbridge.EUNAVAILABLE, "cannot check account %s in AWS Organizations: %v", account, err)
}

func (c *OrgCatalog) fresh(e *orgEntry) bool {
	ttl := c.refresh
	if e.err != nil {
		ttl = min(ttl, negativeTTL)
	}
	return c.now().Sub(e.fetched) < ttl
}

// fetch reads one account from AWS and stores the answer. The returned
// error is a failure to ask; an account that cannot be requested is an
// entry with err set.
func (c *OrgCatalog) fetch(ctx context.Context, account string) (*orgEntry, error) {
	v, err, _ := c.flight.Do(account, func() (any, error) {
		e, err := c.read(ctx, account)
		if err != nil {
			return nil, err
		}
		e.fetched = c.now()
		c.mu.Lock()
		c.accounts[account] = e
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*orgEntry), nil
}

func (c *OrgCatalog) read(ctx context.Context, account string) (*orgEntry, error) {
	subject := "account " + account
	var desc *organizations.DescribeAccountOutput
	err := retryRead(ctx, c.sleep, func() error {
		var err error
		desc, err = c.client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: &account})
		return classifyAbout("DescribeAccount", subject, err)
	})
	var nf *orgtypes.AccountNotFoundException
	if errors.As(err, &nf) {
		return &orgEntry{err: drawbridge.Errorf(drawbridge.EINVALID,
			"account %s is not in the AWS organisation (AWS Organizations does not know it)", account)}, nil
	}
	if err != nil {
		return nil, err
	}
	if a := desc.Account; a != nil {
		switch state := string(a.State); state {
		case "", string(orgtypes.AccountStateActive):
		default:
			return &orgEntry{err: drawbridge.Errorf(drawbridge.EINVALID,
				"account %s (%s) is %s in AWS Organizations, not ACTIVE", account, awssdk.ToString(a.Name), state)}, nil
		}
	}

	var ous []string
	child := account
	for depth := 0; ; depth++ {
		if depth >= maxOUDepth {
			return nil, &opError{op: "ListParents", subject: subject, msg: "organisation tree deeper than expected"}
		}
		parent, isRoot, err := c.parentOf(ctx, child)
		if err != nil {
			return nil, err
		}
		if isRoot {
			break
		}
		ous = append(ous, parent)
		child = parent
	}
	slices.Reverse(ous)

	tags := map[string]string{}
	pages := organizations.NewListTagsForResourcePaginator(c.client, &organizations.ListTagsForResourceInput{ResourceId: &account})
	for pages.HasMorePages() {
		var out *organizations.ListTagsForResourceOutput
		err := retryRead(ctx, c.sleep, func() error {
			var err error
			out, err = pages.NextPage(ctx)
			return classifyAbout("ListTagsForResource", subject, err)
		})
		if err != nil {
			return nil, err
		}
		for _, t := range out.Tags {
			tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
		}
	}
	return &orgEntry{ous: ous, tags: tags}, nil
}

// parentOf returns the parent of an account or OU. OUs' parents are cached
// across accounts, since many accounts share an OU.
func (c *OrgCatalog) parentOf(ctx context.Context, child string) (parent string, isRoot bool, err error) {
	const rootMark = "\x00root:"
	if v, _, ok := c.ouParent.get(child); ok {
		if id, ok := strings.CutPrefix(v, rootMark); ok {
			return id, true, nil
		}
		return v, false, nil
	}
	// Follow every page: Organizations may answer a page with no parent
	// and a NextToken.
	var parents []orgtypes.Parent
	pages := organizations.NewListParentsPaginator(c.client, &organizations.ListParentsInput{ChildId: &child})
	for pages.HasMorePages() {
		var out *organizations.ListParentsOutput
		err = retryRead(ctx, c.sleep, func() error {
			var err error
			out, err = pages.NextPage(ctx)
			return classifyAbout("ListParents", child, err)
		})
		if err != nil {
			return "", false, err
		}
		parents = append(parents, out.Parents...)
	}
	if len(parents) == 0 {
		return "", false, &opError{op: "ListParents", subject: child, msg: "no parent returned"}
	}
	pr := parents[0]
	parent, isRoot = awssdk.ToString(pr.Id), pr.Type == orgtypes.ParentTypeRoot
	if !accountIDPattern.MatchString(child) {
		v := parent
		if isRoot {
			v = rootMark + parent
		}
		c.ouParent.put(child, v, nil)
	}
	return parent, isRoot, nil
}
