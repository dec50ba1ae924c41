package policy

import (
	"math/bits"
	"slices"
	"strings"
)

// index answers "which rule is the first to match this request" without
// looking at every rule.
//
// The first level is keyed by (provider, role): each key holds a roleIndex
// over only the rules that name that role or accept any role, in file
// order, and the key (provider, "*") holds the rules that accept any role,
// for roles no rule names. Inside a roleIndex, every value a rule can name
// (exact resource, OU, tag, user, group) has a bitset over those rules, and
// so do "any resource" and "any requester". A decision looks up the bitsets
// for the request's values and, 64 rules at a time, ORs them per dimension
// and ANDs the dimensions; the lowest set bit is the first rule in file
// order whose match holds, so "first match wins" is exact by construction.
//
// Memory: per role, one bit per rule of that role for every value those
// rules name (a 1,000-rule policy: tens of KB).
type index struct {
	byRole map[string]*roleIndex // provider NUL role; role "*" = any-role rules only
}

type roleIndex struct {
	// rules maps a bit to the rule's position in the policy.
	rules []int32
	words int
	// arena holds every bitset of this roleIndex back to back; maps store
	// offsets into it, which keeps map slots small and the per-decision
	// bookkeeping a few int32s.
	arena        []uint64
	exact        strTable
	ou           strTable
	tagKeys      []tagIndex
	anyResource  bitset
	user         strTable
	group        strTable
	anyRequester bitset
}

// tagIndex is keyed by tag key first: a policy names few tag keys, so
// looking each up in the request's tags beats ranging over the request's
// tag map (which is slower than a handful of lookups).
type tagIndex struct {
	key  string
	vals strTable
}

type bitset []uint64

// Keys use NUL as separator. Validation keeps NUL out of every provider and
// role in the policy, so a request whose fields contain NUL builds a key
// with more separators than any stored key and finds nothing.
const sep = 0

const anyRole = "*"

func buildIndex(rules []*Rule) index {
	members := map[string][]*Rule{}
	// Any-role rules join every role of their provider, so each roleIndex
	// is complete on its own; collect the role keys first.
	for _, r := range rules {
		members[r.Provider+"\x00"+anyRole] = nil
		for role := range r.roles {
			members[r.Provider+"\x00"+role] = nil
		}
	}
	for _, r := range rules {
		for key := range members {
			provider, role := splitKey(key)
			if provider != r.Provider {
				continue
			}
			if r.anyRole || (role != anyRole && r.matchesRole(role)) {
				members[key] = append(members[key], r)
			}
		}
	}
	ix := index{byRole: map[string]*roleIndex{}}
	for key, rs := range members {
		if len(rs) == 0 {
			continue
		}
		slices.SortFunc(rs, func(a, b *Rule) int { return a.pos - b.pos })
		ix.byRole[key] = newRoleIndex(rs)
	}
	return ix
}

func splitKey(key string) (provider, role string) {
	for i := 0; i < len(key); i++ {
		if key[i] == sep {
			return key[:i], key[i+1:]
		}
	}
	return key, ""
}

func newRoleIndex(rs []*Rule) *roleIndex {
	words := (len(rs) + 63) / 64
	ri := &roleIndex{
		words:        words,
		anyResource:  make(bitset, words),
		anyRequester: make(bitset, words),
	}
	exact, ou, user, group := map[string]int32{}, map[string]int32{}, map[string]int32{}, map[string]int32{}
	set := func(m map[string]int32, key string, bit int) {
		off, ok := m[key]
		if !ok {
			off = int32(len(ri.arena))
			ri.arena = append(ri.arena, make([]uint64, words)...)
			m[key] = off
		}
		ri.arena[int(off)+bit/64] |= 1 << (bit % 64)
	}
	tags := map[string]map[string]int32{}
	for bit, r := range rs {
		ri.rules = append(ri.rules, int32(r.pos))
		if r.anyResource {
			ri.anyResource[bit/64] |= 1 << (bit % 64)
		}
		for res := range r.exact {
			set(exact, res, bit)
		}
		for _, o := range r.ous {
			set(ou, o, bit)
		}
		for _, t := range r.tags {
			if tags[t.key] == nil {
				tags[t.key] = map[string]int32{}
			}
			set(tags[t.key], t.value, bit)
		}
		if r.anyRequester {
			ri.anyRequester[bit/64] |= 1 << (bit % 64)
		}
		for _, u := range r.users.items() {
			set(user, u, bit)
		}
		for _, g := range r.groups.items() {
			set(group, g, bit)
		}
	}
	ri.exact, ri.ou, ri.user, ri.group = newStrTable(exact), newStrTable(ou), newStrTable(user), newStrTable(group)
	for k, vals := range tags {
		ri.tagKeys = append(ri.tagKeys, tagIndex{key: k, vals: newStrTable(vals)})
	}
	slices.SortFunc(ri.tagKeys, func(a, b tagIndex) int { return strings.Compare(a.key, b.key) })
	return ri
}

// strTable is a fixed open-addressing hash table from string to arena
// offset. Go maps cost most of a decision (a dozen lookups); this table
// hashes at most 16 bytes of the key with two multiplies and probes
// linearly at a load factor of at most 1/2, which is about twice as fast.
// Keys come from the policy only, and the table never changes after Parse,
// so a request can make a lookup probe no further than the longest run the
// policy itself built.
type strTable struct {
	mask  uint64
	slots []strSlot
}

type strSlot struct {
	key  string
	off  int32
	used bool
}

func newStrTable(m map[string]int32) strTable {
	if len(m) == 0 {
		return strTable{}
	}
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	t := strTable{mask: uint64(size - 1), slots: make([]strSlot, size)}
	for k, off := range m {
		i := hashString(k) & t.mask
		for t.slots[i].used {
			i = (i + 1) & t.mask
		}
		t.slots[i] = strSlot{key: k, off: off, used: true}
	}
	return t
}

func (t *strTable) empty() bool { return t.slots == nil }

func (t *strTable) get(k string) (int32, bool) {
	if t.slots == nil {
		return 0, false
	}
	for i := hashString(k) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if !s.used {
			return 0, false
		}
		if s.key == k {
			return s.off, true
		}
	}
}

// hashString mixes the length and the first and last (up to) 8 bytes:
// enough to tell apart account ids, OU ids, group names and emails, and
// strings that differ only in the middle just probe a little further.
func hashString(s string) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n >= 8:
		a, b = load64(s), load64(s[n-8:])
	case n >= 4:
		a, b = uint64(load32(s)), uint64(load32(s[n-4:]))
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
	}
	h := (a ^ 0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	h ^= (b + uint64(n)) * 0x94d049bb133111eb
	return h ^ h>>31
}

func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// maxSets bounds the bitsets one dimension collects on the stack; a request
// with more (an account in many OUs the policy names, a requester in many
// groups it names) folds the rest into one heap bitset.
const maxSets = 12

// sets collects the bitsets (arena offsets) of one dimension for one
// request.
type sets struct {
	arena []uint64
	words int
	n     int
	s     [maxSets]int32
	extra bitset
}

func (ss *sets) add(off int32, ok bool) {
	if !ok {
		return
	}
	if ss.n < maxSets {
		ss.s[ss.n] = off
		ss.n++
		return
	}
	if ss.extra == nil {
		ss.extra = make(bitset, ss.words)
	}
	for i, w := range ss.arena[off : int(off)+ss.words] {
		ss.extra[i] |= w
	}
}

func (ss *sets) word(w int) uint64 {
	var x uint64
	for _, off := range ss.s[:ss.n] {
		x |= ss.arena[int(off)+w]
	}
	if ss.extra != nil {
		x |= ss.extra[w]
	}
	return x
}

// first returns the position of the first rule whose match holds, or -1.
// A candidate whose condition fails to evaluate stops the search: first
// returns its position and the error, and that rule decides (deny).
func (ix *index) first(rules []*Rule, in *Input) (int, error) {
	e := &in.Entitlement
	// A stack buffer: map lookups keyed by string(bytes) do not allocate.
	var buf [128]byte
	k := append(buf[:0], e.Provider...)
	k = append(k, sep)
	n := len(k)
	k = append(k, e.Role...)
	ri := ix.byRole[string(k)]
	if ri == nil {
		k = append(k[:n], anyRole...)
		if ri = ix.byRole[string(k)]; ri == nil {
			return -1, nil
		}
	}

	res := sets{arena: ri.arena, words: ri.words}
	if !ri.exact.empty() {
		res.add(ri.exact.get(e.Resource))
	}
	if !ri.ou.empty() {
		for _, ou := range in.OUs {
			res.add(ri.ou.get(ou))
		}
	}
	if len(in.Tags) > 0 {
		for i := range ri.tagKeys {
			if v, ok := in.Tags[ri.tagKeys[i].key]; ok {
				res.add(ri.tagKeys[i].vals.get(v))
			}
		}
	}

	who := sets{arena: ri.arena, words: ri.words}
	if !ri.user.empty() {
		who.add(ri.user.get(in.Requester.ID))
	}
	if !ri.group.empty() {
		for _, g := range in.Requester.Groups {
			who.add(ri.group.get(g))
		}
	}

	var act *activation
	for w := range ri.words {
		m := ri.anyResource[w] | res.word(w)
		if m == 0 {
			continue
		}
		m &= ri.anyRequester[w] | who.word(w)
		for m != 0 {
			pos := int(ri.rules[w*64+bits.TrailingZeros64(m)])
			m &= m - 1
			r := rules[pos]
			if r.prg == nil {
				return pos, nil
			}
			// Built only when a candidate has a condition, so rules
			// without one decide without allocating.
			if act == nil {
				act = &activation{in: in}
			}
			if ok, err := r.condition(act); ok || err != nil {
				return pos, err
			}
		}
	}
	return -1, nil
}
