package policy

// index maps what a request names to the rules that could match it, so that
// a decision looks at a handful of rules instead of all of them.
//
// Rules are keyed by provider and role (or "*" for rules that accept any
// role) and, for the resource, either by the exact id they list ("exact") or
// under no resource at all ("indirect") when they select by "*", OU or tag:
// those depend on the request's OUs and tags, so they are checked rule by
// rule. Every list holds ascending rule positions; a lookup merges at most
// four lists in position order, which preserves "first match wins" exactly.
type index struct {
	exact    map[string][]int32 // provider \0 resource \0 role
	indirect map[string][]int32 // provider \0 role
}

// Keys use NUL as separator. Validation keeps NUL out of every provider,
// resource and role in the policy, so a request whose fields contain NUL
// builds a key with more separators than any stored key and finds nothing.
const sep = 0

const anyRole = "*"

func buildIndex(rules []*Rule) index {
	ix := index{exact: map[string][]int32{}, indirect: map[string][]int32{}}
	for _, r := range rules {
		roles := r.Roles
		if r.anyRole {
			roles = []string{anyRole}
		}
		for _, role := range roles {
			for res := range r.exact {
				k := r.Provider + "\x00" + res + "\x00" + role
				ix.exact[k] = append(ix.exact[k], int32(r.pos))
			}
			if r.anyResource || len(r.ous) > 0 || len(r.tags) > 0 {
				k := r.Provider + "\x00" + role
				ix.indirect[k] = append(ix.indirect[k], int32(r.pos))
			}
		}
	}
	return ix
}

type cursor struct {
	list []int32
	// exact is true when being in the list already proves the resource
	// matched; otherwise the rule's "*", OU and tag selectors decide.
	exact bool
}

// first returns the position of the first rule whose match holds, or -1.
func (ix *index) first(rules []*Rule, in *Input, act *activation) int {
	e := &in.Entitlement
	// A stack buffer: map lookups keyed by string(bytes) do not allocate.
	var buf [192]byte
	k := append(buf[:0], e.Provider...)
	k = append(k, sep)
	n := len(k)
	k = append(k, e.Role...)
	var cur [4]cursor
	cur[2] = cursor{list: ix.indirect[string(k)]}
	k = append(k[:n], anyRole...)
	cur[3] = cursor{list: ix.indirect[string(k)]}
	k = append(k[:n], e.Resource...)
	k = append(k, sep)
	n = len(k)
	k = append(k, e.Role...)
	cur[0] = cursor{list: ix.exact[string(k)], exact: true}
	k = append(k[:n], anyRole...)
	cur[1] = cursor{list: ix.exact[string(k)], exact: true}

	for {
		best := int32(-1)
		for i := range cur {
			if l := cur[i].list; len(l) > 0 && (best < 0 || l[0] < best) {
				best = l[0]
			}
		}
		if best < 0 {
			return -1
		}
		// The same rule can head several lists (it names this account and
		// an OU, say); consume it from all of them and remember whether any
		// of them was an exact-resource list.
		resourceOK := false
		for i := range cur {
			if l := cur[i].list; len(l) > 0 && l[0] == best {
				resourceOK = resourceOK || cur[i].exact
				cur[i].list = l[1:]
			}
		}
		r := rules[best]
		if !resourceOK && !r.matchesIndirectResource(in) {
			continue
		}
		if r.matchesRequester(in.Requester) && r.conditionHolds(act) {
			return int(best)
		}
	}
}
