package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	nethttp "net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/drawbridge-jit/drawbridge"
)

// DefaultMaxBodyBytes caps a request body when Server.MaxBodyBytes is
// unset. The largest legitimate body (a create request with a reason and a
// ticket at their length caps) is well under 8 KiB.
const DefaultMaxBodyBytes = 64 << 10

// Error codes the HTTP layer adds to the domain's vocabulary: they are
// about the envelope of a request, not about what it asks for, so no other
// channel can produce them.
const (
	codeTooLarge    = "too_large"              // 413
	codeUnsupported = "unsupported_media_type" // 415
)

// wireError is an HTTP-only error with its own status.
type wireError struct {
	status        int
	code, message string
}

func (e *wireError) Error() string { return e.message }

// decode reads a JSON body into v (a pointer to a struct) strictly, so
// that Drawbridge and any proxy, WAF or log pipeline in front of it read
// the same request: the body must be application/json in UTF-8, one JSON
// object and nothing after it, each key at most once at any depth, and
// every key exactly one of the schema's field names (encoding/json alone
// matches keys case-insensitively, keeps the last duplicate and ignores
// trailing data). An empty body is the zero value, for the routes whose
// body is optional. Errors name the field and what it must be in the
// API's terms, taken from the field's `desc` tag.
func decode(r *nethttp.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	var tooBig *nethttp.MaxBytesError
	if errors.As(err, &tooBig) {
		return &wireError{nethttp.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("the body is larger than this server's limit of %d bytes (server.max_body_bytes)", tooBig.Limit)}
	} else if err != nil {
		return drawbridge.Errorf(drawbridge.EINVALID, "reading the body: %v", err)
	}
	ct := r.Header.Get("Content-Type")
	if len(data) == 0 && ct == "" {
		return nil
	}
	if err := checkContentType(ct); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if !utf8.Valid(data) {
		return drawbridge.Errorf(drawbridge.EINVALID, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t := reflect.TypeOf(v).Elem()
	first, err := dec.Token()
	if err != nil {
		return syntaxError(err, dec)
	}
	if d, ok := first.(json.Delim); !ok || d != '{' {
		return drawbridge.Errorf(drawbridge.EINVALID, "the body must be a JSON object ({...}), not %s", describeToken(first))
	}
	if err := checkObject(dec, t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return drawbridge.Errorf(drawbridge.EINVALID, "unexpected data after the JSON object at byte %d: send exactly one object", dec.InputOffset())
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		// checkObject has accepted every key and type, so this is a
		// value encoding/json still refuses (a number out of range).
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return drawbridge.Errorf(drawbridge.EINVALID, "%s is out of range", te.Field)
		}
		return drawbridge.Errorf(drawbridge.EINVALID, "the body is not valid JSON")
	}
	return nil
}

func checkContentType(ct string) error {
	unsupported := func(why string) error {
		return &wireError{nethttp.StatusUnsupportedMediaType, codeUnsupported,
			fmt.Sprintf("Content-Type must be application/json (optionally with charset=utf-8): %s", why)}
	}
	if ct == "" {
		return unsupported("the request has a body and no Content-Type")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return unsupported(fmt.Sprintf("%q does not parse", ct))
	}
	if mt != "application/json" {
		return unsupported(fmt.Sprintf("got %s", mt))
	}
	for k, val := range params {
		if k != "charset" {
			return unsupported(fmt.Sprintf("unknown parameter %q", k))
		}
		if !strings.EqualFold(val, "utf-8") {
			return unsupported(fmt.Sprintf("charset %q is not supported: JSON is UTF-8", val))
		}
	}
	return nil
}

// checkObject walks the members of an object whose '{' has been read,
// against the struct type t (or a map, whose keys are free).
func checkObject(dec *json.Decoder, t reflect.Type, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err, dec)
		}
		key := tok.(string) // inside an object the decoder yields keys as strings
		name := join(path, key)
		if seen[key] {
			return drawbridge.Errorf(drawbridge.EINVALID, "duplicate key %q: give each field once", name)
		}
		seen[key] = true
		var ft reflect.Type
		desc := ""
		switch t.Kind() {
		case reflect.Map:
			ft = t.Elem()
		case reflect.Struct:
			f, ok := fieldByJSONName(t, key)
			if !ok {
				return drawbridge.Errorf(drawbridge.EINVALID, "unknown field %q: the fields are %s (names are case-sensitive)", name, strings.Join(jsonNames(t), ", "))
			}
			ft, desc = f.Type, f.Tag.Get("desc")
		default:
			return drawbridge.Errorf(drawbridge.EINVALID, "%s must not be an object", path)
		}
		if err := checkValue(dec, ft, name, desc); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return syntaxError(err, dec)
	}
	return nil
}

// checkValue reads one value and checks it has the JSON type t needs.
func checkValue(dec *json.Decoder, t reflect.Type, name, desc string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err, dec)
	}
	if desc == "" {
		desc = describeType(t)
	}
	wrong := func() error {
		return drawbridge.Errorf(drawbridge.EINVALID, "%s must be %s, not %s", name, desc, describeToken(tok))
	}
	if tok == nil { // null leaves the field at its zero value
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return wrong()
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return wrong()
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := tok.(json.Number)
		if !ok {
			return wrong()
		}
		if _, err := n.Int64(); err != nil {
			return wrong()
		}
	case reflect.Float64:
		if _, ok := tok.(json.Number); !ok {
			return wrong()
		}
	case reflect.Struct, reflect.Map:
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return wrong()
		}
		return checkObject(dec, t, name)
	case reflect.Slice:
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return wrong()
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, t.Elem(), fmt.Sprintf("%s[%d]", name, i), ""); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return syntaxError(err, dec)
		}
	default:
		return wrong()
	}
	return nil
}

func syntaxError(err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return drawbridge.Errorf(drawbridge.EINVALID, "the body is not valid JSON: it ends before the object is complete")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return drawbridge.Errorf(drawbridge.EINVALID, "the body is not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	return drawbridge.Errorf(drawbridge.EINVALID, "the body is not valid JSON at byte %d", dec.InputOffset())
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == key && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return "a value of another type"
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "true or false"
	case json.Number:
		return "the number " + v.String()
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	}
	return "another value"
}
