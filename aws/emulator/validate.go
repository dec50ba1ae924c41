package emulator

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Input validation as AWS does it, from the service models the AWS CLI
// ships (botocore's sso-admin 2020-07-20, identitystore 2020-06-15 and
// organizations 2016-11-28): member names are matched case-sensitively (a
// member spelled in another case is unknown, so a required one is missing),
// and every constraint of the input is checked before anything is looked
// up, so a malformed value gets ValidationException even when the resource
// it names does not exist either.

// constraint is what the model says about one input member.
type constraint struct {
	path     string // exact member names, dot-separated for nested members
	required bool
	pattern  *regexp.Regexp // whole-value match
	min, max int            // string length, or value for numbers; 0 = none
	number   bool
	enum     []string
}

// The models' patterns, anchored to match the whole value (the models
// write some without anchors, and Organizations' with a stray alternation
// precedence; AWS matches the whole value).
var (
	instanceARNPattern      = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	permissionSetARNPattern = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}$`)
	accountIDPattern        = regexp.MustCompile(`^\d{12}$`)
	// resourceIDPattern is AWS's pattern for Identity Store user and group
	// ids, and so for an assignment's PrincipalId: an optional ten
	// hex-digit prefix and a dash, then a UUID.
	resourceIDPattern    = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	requestIDPattern     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	ssoTokenPattern      = regexp.MustCompile(`^[-a-zA-Z0-9+=/_]*$`)
	identityStorePattern = regexp.MustCompile(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	storeTokenPattern    = regexp.MustCompile(`^[-a-zA-Z0-9+=/:]*$`)
	ouIDPattern          = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	childIDPattern       = regexp.MustCompile(`^(\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	parentIDPattern      = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	taggableIDPattern    = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|p-[0-9a-zA-Z_]{8,128}|rp-[0-9a-zA-Z_]{4,128})$`)
)

// inputShapes are the constraints of each emulated operation's input.
var inputShapes = func() map[string][]constraint {
	instance := constraint{path: "InstanceArn", required: true, pattern: instanceARNPattern, min: 10, max: 1224}
	permissionSet := constraint{path: "PermissionSetArn", required: true, pattern: permissionSetARNPattern, min: 10, max: 1224}
	ssoPaging := []constraint{{path: "MaxResults", number: true, min: 1, max: 100}, {path: "NextToken", pattern: ssoTokenPattern, max: 2048}}
	assignment := []constraint{instance,
		{path: "TargetId", required: true, pattern: accountIDPattern, min: 12, max: 12},
		{path: "TargetType", required: true, enum: []string{"AWS_ACCOUNT"}},
		permissionSet,
		{path: "PrincipalType", required: true, enum: []string{"USER", "GROUP"}},
		{path: "PrincipalId", required: true, pattern: resourceIDPattern, min: 1, max: 47},
	}
	store := constraint{path: "IdentityStoreId", required: true, pattern: identityStorePattern, min: 1, max: 36}
	storePaging := []constraint{{path: "MaxResults", number: true, min: 1, max: 100}, {path: "NextToken", pattern: storeTokenPattern, min: 1, max: 65535}}
	alternate := []constraint{store, {path: "AlternateIdentifier", required: true}}
	orgPaging := []constraint{{path: "MaxResults", number: true, min: 1, max: 20}, {path: "NextToken", max: 100000}}
	return map[string][]constraint{
		ssoAdminPrefix + OpCreateAccountAssignment: assignment,
		ssoAdminPrefix + OpDeleteAccountAssignment: assignment,
		ssoAdminPrefix + OpDescribeAccountAssignmentCreationStatus: {instance,
			{path: "AccountAssignmentCreationRequestId", required: true, pattern: requestIDPattern, min: 36, max: 36}},
		ssoAdminPrefix + OpDescribeAccountAssignmentDeletionStatus: {instance,
			{path: "AccountAssignmentDeletionRequestId", required: true, pattern: requestIDPattern, min: 36, max: 36}},
		ssoAdminPrefix + OpListAccountAssignments: append([]constraint{instance,
			{path: "AccountId", required: true, pattern: accountIDPattern, min: 12, max: 12}, permissionSet}, ssoPaging...),
		ssoAdminPrefix + OpListAccountAssignmentsForPrincipal: append([]constraint{instance,
			{path: "Filter.AccountId", pattern: accountIDPattern, min: 12, max: 12},
			{path: "PrincipalId", required: true, pattern: resourceIDPattern, min: 1, max: 47},
			{path: "PrincipalType", required: true, enum: []string{"USER", "GROUP"}}}, ssoPaging...),
		ssoAdminPrefix + OpListPermissionSets:    append([]constraint{instance}, ssoPaging...),
		ssoAdminPrefix + OpDescribePermissionSet: {instance, permissionSet},
		ssoAdminPrefix + OpListInstances:         ssoPaging,

		ssoAdminPrefix + OpGetInlinePolicyForPermissionSet:     {instance, permissionSet},
		ssoAdminPrefix + OpDeleteInlinePolicyFromPermissionSet: {instance, permissionSet},
		ssoAdminPrefix + OpPutInlinePolicyToPermissionSet: {instance, permissionSet,
			{path: "InlinePolicy", required: true, min: 1, max: MaxInlinePolicy}},
		ssoAdminPrefix + OpProvisionPermissionSet: {instance, permissionSet,
			{path: "TargetId", pattern: accountIDPattern, min: 12, max: 12},
			{path: "TargetType", required: true, enum: []string{"AWS_ACCOUNT", "ALL_PROVISIONED_ACCOUNTS"}}},
		ssoAdminPrefix + OpDescribePermissionSetProvisioningStatus: {instance,
			{path: "ProvisionPermissionSetRequestId", required: true, pattern: requestIDPattern, min: 36, max: 36}},

		OpGetUserId:    alternate,
		OpGetGroupId:   alternate,
		OpDescribeUser: {store, {path: "UserId", required: true, pattern: resourceIDPattern, min: 1, max: 47}},
		OpDescribeGroup: {store,
			{path: "GroupId", required: true, pattern: resourceIDPattern, min: 1, max: 47}},
		OpListGroupMembershipsForMember: append([]constraint{store, {path: "MemberId", required: true},
			{path: "MemberId.UserId", pattern: resourceIDPattern, min: 1, max: 47}}, storePaging...),

		OpListRoots:             orgPaging,
		OpListParents:           append([]constraint{{path: "ChildId", required: true, pattern: childIDPattern, max: 100}}, orgPaging...),
		OpListAccountsForParent: append([]constraint{{path: "ParentId", required: true, pattern: parentIDPattern, max: 100}}, orgPaging...),
		OpDescribeAccount:       {{path: "AccountId", required: true, pattern: accountIDPattern, max: 12}},
		OpListTagsForResource:   {{path: "ResourceId", required: true, pattern: taggableIDPattern, max: 130}, {path: "NextToken", max: 100000}},
	}
}()

// memberNames are the exact names of request's members, at every depth.
var memberNames = func() map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			names[f.Name] = true
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[request]())
	return names
}()

// decodeInput parses a JSON body into request, ignoring members whose names
// are not exactly a member's (AWS's JSON protocol is case-sensitive; Go's
// decoder is not), and checks it against the operation's constraints.
func decodeInput(target string, body []byte) (*request, error) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errorf("SerializationException", "cannot decode request body: %v", err)
	}
	raw = exactMembers(raw)
	if err := validateInput(target, raw); err != nil {
		return nil, err
	}
	exact, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var in request
	if err := json.Unmarshal(exact, &in); err != nil {
		return nil, errorf("SerializationException", "cannot decode request body: %v", err)
	}
	return &in, nil
}

// exactMembers drops the keys of m, at every depth, that are not exactly
// the name of a member. A document value (AttributeValue) is kept whole.
func exactMembers(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !memberNames[k] {
			continue
		}
		if sub, ok := v.(map[string]any); ok && k != "AttributeValue" {
			v = exactMembers(sub)
		}
		out[k] = v
	}
	return out
}

// validateInput checks in against target's constraints and returns every
// violation in one error, worded as AWS words them.
func validateInput(target string, in map[string]any) error {
	var problems []string
	for _, c := range inputShapes[target] {
		v, present := lookup(in, c.path)
		if p := c.check(v, present); p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if strings.HasPrefix(target, organizationsPrefix) {
		return errorf("InvalidInputException", "You provided a value that does not match the required pattern. %s", strings.Join(problems, "; "))
	}
	noun := "error"
	if len(problems) > 1 {
		noun = "errors"
	}
	return errorf("ValidationException", "%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; "))
}

// lookup returns the value at a dot-separated path of member names.
func lookup(m map[string]any, path string) (any, bool) {
	var v any = m
	for name := range strings.SplitSeq(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[name]; !ok || v == nil {
			return nil, false
		}
	}
	return v, true
}

// check returns the violation of c by v, or "".
func (c constraint) check(v any, present bool) string {
	name := lowerCamel(c.path)
	if !present {
		if c.required {
			return fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", name)
		}
		return ""
	}
	fail := func(shown any, rule string) string {
		return fmt.Sprintf("Value %v at '%s' failed to satisfy constraint: Member must %s", shown, name, rule)
	}
	if c.number {
		n, ok := v.(float64)
		switch {
		case !ok:
			return fail(v, "be a number")
		case c.min > 0 && n < float64(c.min):
			return fail(n, fmt.Sprintf("have value greater than or equal to %d", c.min))
		case c.max > 0 && n > float64(c.max):
			return fail(n, fmt.Sprintf("have value less than or equal to %d", c.max))
		}
		return ""
	}
	if c.pattern == nil && c.enum == nil && c.min == 0 && c.max == 0 {
		if _, ok := v.(map[string]any); !ok {
			return fail(v, "be a structure")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		return fail(v, "be a string")
	}
	quoted := "'" + s + "'"
	switch {
	case c.enum != nil && !slices.Contains(c.enum, s):
		return fail(quoted, "satisfy enum value set: ["+strings.Join(c.enum, ", ")+"]")
	case c.min > 0 && len(s) < c.min:
		return fail(quoted, fmt.Sprintf("have length greater than or equal to %d", c.min))
	case c.max > 0 && len(s) > c.max:
		return fail(quoted, fmt.Sprintf("have length less than or equal to %d", c.max))
	case c.pattern != nil && !c.pattern.MatchString(s):
		return fail(quoted, "satisfy regular expression pattern: "+c.pattern.String())
	}
	return ""
}

// lowerCamel renders a member path as AWS names it in validation messages:
// "MemberId.UserId" -> "memberId.userId".
func lowerCamel(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToLower(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, ".")
}
