package http

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
)

// FuzzDecode: the strict decoder never panics, and whatever it accepts
// encoding/json reads the same way, with no key repeated and no data
// after the object (so no other parser in front can read it differently).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h","reason":"x"}`,
		`{"reason":"a","reason":"b"}`, `{"Reason":"a"}`, `{}garbage`, `{"duration_seconds":1e3}`,
		`{"duration_seconds":9223372036854775808}`, `null`, `[]`, `{"reason":null}`, "{\"reason\":\"\\u001b\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/requests", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var got CreateRequest
		if err := decode(r, &got); err != nil {
			return
		}
		var want CreateRequest
		if len(body) > 0 {
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %+v, encoding/json reads %+v", body, got, want)
		}
		var keys map[string]json.RawMessage
		if len(body) > 0 && json.Unmarshal(body, &keys) == nil {
			for k := range keys {
				if _, ok := fieldByJSONName(reflect.TypeOf(want), k); !ok {
					t.Fatalf("accepted unknown or case-variant key %q in %q", k, body)
				}
			}
		}
	})
}
