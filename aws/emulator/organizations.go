package emulator

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// orgID is the emulated organisation's id, used in ARNs.
const orgID = "o-emulator00"

type orgAccount struct {
	id, name string
	tags     map[string]string
	joined   time.Time
}

// AddOU adds an organisational unit under parentID: the root when empty, or
// an OU added before. OU ids follow AWS's pattern (ou-ab12-cd34ef56).
func (s *Server) AddOU(id, parentID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ouIDPattern.MatchString(id) {
		return fmt.Errorf("emulator: OU id %q is not an OU id as AWS issues them (pattern %s, e.g. ou-ab12-cd34ef56)", id, ouIDPattern)
	}
	parent, err := s.orgParent(parentID)
	if err != nil {
		return err
	}
	s.ous[id] = true
	s.parents[id] = parent
	return nil
}

// AddAccount adds a member account (12 digits) under parentID (the root when
// empty) with the given tags. Adding an account again moves it and replaces
// its name and tags.
func (s *Server) AddAccount(id, name, parentID string, tags map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !accountIDPattern.MatchString(id) {
		return fmt.Errorf("emulator: account id %q is not 12 digits", id)
	}
	parent, err := s.orgParent(parentID)
	if err != nil {
		return err
	}
	s.accounts[id] = &orgAccount{id: id, name: name, tags: maps.Clone(tags), joined: s.created}
	s.parents[id] = parent
	return nil
}

// orgParent resolves a seeding parent id. Callers hold s.mu.
func (s *Server) orgParent(id string) (string, error) {
	if id == "" || id == SandboxRootID || s.ous[id] {
		return cmp.Or(id, SandboxRootID), nil
	}
	return "", fmt.Errorf("emulator: no parent %q: add the OU first", id)
}

func (s *Server) organizationsOps() map[string]handlerFunc {
	return map[string]handlerFunc{
		OpListRoots:             s.listRoots,
		OpListParents:           s.listParents,
		OpListAccountsForParent: s.listAccountsForParent,
		OpDescribeAccount:       s.describeAccount,
		OpListTagsForResource:   s.listTagsForResource,
	}
}

// orgPage pages an Organizations list: at most 20 items per page and
// InvalidInputException for bad paging input, as Organizations answers.
func orgPage(in *request, n int) (from, to int, next *string, err error) {
	return pageOf(in, n, 20, "InvalidInputException")
}

func (s *Server) listRoots(in *request, _ time.Time, _ string) (any, error) {
	if _, _, _, err := orgPage(in, 1); err != nil {
		return nil, err
	}
	return map[string]any{"Roots": []map[string]any{{
		"Id":          SandboxRootID,
		"Arn":         "arn:aws:organizations::000000000000:root/" + orgID + "/" + SandboxRootID,
		"Name":        "Root",
		"PolicyTypes": []any{},
	}}}, nil
}

func (s *Server) listParents(in *request, _ time.Time, _ string) (any, error) {
	child := str(in.ChildId)
	parent, ok := s.parents[child]
	if !ok {
		return nil, errorf("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified: %s", child)
	}
	typ := "ORGANIZATIONAL_UNIT"
	if parent == SandboxRootID {
		typ = "ROOT"
	}
	all := []map[string]any{{"Id": parent, "Type": typ}}
	from, to, next, err := orgPage(in, len(all))
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"Parents": all[from:to]}, next), nil
}

func (s *Server) accountJSON(a *orgAccount) map[string]any {
	return map[string]any{
		"Id":              a.id,
		"Arn":             "arn:aws:organizations::000000000000:account/" + orgID + "/" + a.id,
		"Name":            a.name,
		"Email":           "aws+" + a.id + "@example.com",
		"Status":          "ACTIVE",
		"State":           "ACTIVE",
		"JoinedMethod":    "CREATED",
		"JoinedTimestamp": a.joined.Unix(),
	}
}

func (s *Server) listAccountsForParent(in *request, _ time.Time, _ string) (any, error) {
	parent := str(in.ParentId)
	if parent != SandboxRootID && !s.ous[parent] {
		return nil, errorf("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified: %s", parent)
	}
	var ids []string
	for id := range s.accounts {
		if s.parents[id] == parent {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	from, to, next, err := orgPage(in, len(ids))
	if err != nil {
		return nil, err
	}
	accounts := []map[string]any{}
	for _, id := range ids[from:to] {
		accounts = append(accounts, s.accountJSON(s.accounts[id]))
	}
	return withNextToken(map[string]any{"Accounts": accounts}, next), nil
}

func (s *Server) describeAccount(in *request, _ time.Time, _ string) (any, error) {
	id := str(in.AccountId)
	a := s.accounts[id]
	if a == nil {
		return nil, errorf("AccountNotFoundException", "You specified an account that doesn't exist: %s", id)
	}
	return map[string]any{"Account": s.accountJSON(a)}, nil
}

func (s *Server) listTagsForResource(in *request, _ time.Time, _ string) (any, error) {
	id := str(in.ResourceId)
	var tags map[string]string
	switch {
	case s.accounts[id] != nil:
		tags = s.accounts[id].tags
	case s.ous[id], id == SandboxRootID:
	default:
		return nil, errorf("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified: %s", id)
	}
	keys := slices.Sorted(maps.Keys(tags))
	from, to, next, err := pageOf(in, len(keys), 100, "InvalidInputException")
	if err != nil {
		return nil, err
	}
	out := []map[string]string{}
	for _, k := range keys[from:to] {
		out = append(out, map[string]string{"Key": k, "Value": tags[k]})
	}
	return withNextToken(map[string]any{"Tags": out}, next), nil
}
