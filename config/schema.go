package config

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/drawbridge-jit/drawbridge/duration"
)

// Schema returns a JSON Schema (draft 2020-12) of drawbridge.yaml, derived
// from the Config types themselves so it cannot drift from what Load
// accepts: editors with a YAML language server use it for completion and
// to flag unknown keys as you type (`drawbridge config schema`).
func Schema() ([]byte, error) {
	s := schemaOf(reflect.TypeOf(Config{}))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["title"] = "Drawbridge configuration (drawbridge.yaml)"
	return json.MarshalIndent(s, "", "  ")
}

var (
	durationType  = reflect.TypeOf(Duration(0))
	providersType = reflect.TypeOf(Providers(nil))
)

// providersSchema describes providers:, whose entries take the keys of
// their kind. An entry named after a kind may leave kind out; any other
// name needs kind:.
func providersSchema() map[string]any {
	props := map[string]any{}
	var anyKind []any
	for _, k := range Kinds() {
		s := schemaOf(reflect.TypeOf(kinds[k].settings(&Provider{})))
		p := s["properties"].(map[string]any)
		p["kind"] = map[string]any{"const": k}
		if !kinds[k].builtinCatalog {
			p["resources"] = schemaOf(reflect.TypeOf([]Resource(nil)))
		}
		if k != "boundary" {
			p["end_sessions"] = schemaOf(reflect.TypeOf([]string(nil)))
		}
		props[k] = s
		named := map[string]any{}
		for key, v := range s {
			named[key] = v
		}
		named["required"] = []string{"kind"}
		anyKind = append(anyKind, named)
	}
	return map[string]any{
		"type": "object", "properties": props,
		"propertyNames":        map[string]any{"pattern": providerName.String()},
		"additionalProperties": map[string]any{"oneOf": anyKind},
		"description":          "provider instances by name; kind defaults to the name",
	}
}

func schemaOf(t reflect.Type) map[string]any {
	if t == providersType {
		return providersSchema()
	}
	if t == durationType {
		return map[string]any{"type": "string", "pattern": duration.Pattern,
			"description": "a duration: 90s, 15m, 2h, 7d or 1d12h"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}
