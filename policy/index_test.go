package policy

import (
	"fmt"
	"testing"
)

// TestStrTable covers what the property test cannot easily reach: keys
// that hash alike (same length, first and last 8 bytes; they differ only in
// the middle) must still be told apart, and absent keys end their probe.
func TestStrTable(t *testing.T) {
	m := map[string]int32{}
	for i := range 40 {
		m[fmt.Sprintf("group-%02d:middle-differs-%02d:same-tail", i, i)] = int32(i)
		m[fmt.Sprintf("prefix__%c__suffix", 'a'+i%26)+fmt.Sprint(i/26)] = int32(100 + i)
	}
	for _, k := range []string{"", "a", "ab", "abc", "abcd", "1234567", "123456789012"} {
		m[k] = int32(len(m) + 1000)
	}
	tab := newStrTable(m)
	for k, want := range m {
		if got, ok := tab.get(k); !ok || got != want {
			t.Errorf("get(%q) = %d, %v; want %d", k, got, ok, want)
		}
	}
	for _, k := range []string{"group-00:middle-differs-01:same-tail", "abcde", "x", "123456789013", "prefix__a__suffix9"} {
		if got, ok := tab.get(k); ok {
			t.Errorf("get(%q) = %d for an absent key", k, got)
		}
	}
	var empty strTable
	if _, ok := empty.get("x"); ok || !empty.empty() {
		t.Error("the empty table found something")
	}
}
