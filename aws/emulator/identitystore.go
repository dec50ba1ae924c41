package emulator

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

type user struct{ id, userName, email string }

type group struct{ id, name string }

type membership struct{ id, groupID, userID string }

// AddUser adds a user to the Identity Store. GetUserId finds it by userName
// or by email ("emails.value"), case-insensitively. The id must be one AWS
// could issue: an optional ten hex-digit prefix and a dash, then a UUID.
func (s *Server) AddUser(id, userName, email string) error {
	if !resourceIDPattern.MatchString(id) {
		return fmt.Errorf("emulator: user id %q is not an Identity Store id (pattern %s)", id, resourceIDPattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = &user{id: id, userName: userName, email: email}
	return nil
}

// AddGroup adds a group with the given display name to the Identity Store;
// its id follows the same pattern as a user's.
func (s *Server) AddGroup(id, name string) error {
	if !resourceIDPattern.MatchString(id) {
		return fmt.Errorf("emulator: group id %q is not an Identity Store id (pattern %s)", id, resourceIDPattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = &group{id: id, name: name}
	return nil
}

// AddMembership makes the user a member of the group; both must exist.
func (s *Server) AddMembership(groupID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[groupID] == nil {
		return fmt.Errorf("emulator: no group %q", groupID)
	}
	if s.users[userID] == nil {
		return fmt.Errorf("emulator: no user %q", userID)
	}
	for _, m := range s.memberships {
		if m.groupID == groupID && m.userID == userID {
			return nil
		}
	}
	s.memberships = append(s.memberships, membership{id: fmt.Sprintf("m-%04d", len(s.memberships)+1), groupID: groupID, userID: userID})
	return nil
}

func (s *Server) identityStoreOps() map[string]handlerFunc {
	return map[string]handlerFunc{
		OpGetUserId:                     s.getUserID,
		OpDescribeUser:                  s.describeUser,
		OpGetGroupId:                    s.getGroupID,
		OpDescribeGroup:                 s.describeGroup,
		OpListGroupMembershipsForMember: s.listGroupMembershipsForMember,
	}
}

// notFound is Identity Store's ResourceNotFoundException, which names the
// kind and id of what is missing.
func notFound(resourceType, id, format string, args ...any) *apiError {
	e := errorf("ResourceNotFoundException", format, args...)
	e.fields = map[string]any{"ResourceType": resourceType, "ResourceId": id}
	return e
}

func (s *Server) checkIdentityStore(id *string) error {
	if str(id) != s.identityStoreID {
		return notFound("IDENTITY_STORE", str(id), "Identity store %s does not exist", str(id))
	}
	return nil
}

// uniqueAttribute returns the path and the string value of a request's
// AlternateIdentifier.UniqueAttribute.
func uniqueAttribute(in *request) (path, value string, err error) {
	if in.AlternateIdentifier == nil || in.AlternateIdentifier.UniqueAttribute == nil {
		return "", "", errorf("ValidationException", "the emulator supports only AlternateIdentifier.UniqueAttribute")
	}
	ua := in.AlternateIdentifier.UniqueAttribute
	v, ok := ua.AttributeValue.(string)
	if !ok || v == "" {
		return "", "", errorf("ValidationException", "AttributeValue must be a non-empty string")
	}
	return ua.AttributePath, v, nil
}

func (s *Server) getUserID(in *request, _ time.Time, _ string) (any, error) {
	if err := s.checkIdentityStore(in.IdentityStoreId); err != nil {
		return nil, err
	}
	path, value, err := uniqueAttribute(in)
	if err != nil {
		return nil, err
	}
	if path != "userName" && path != "emails.value" {
		return nil, errorf("ValidationException", "Invalid attribute path %q: use userName or emails.value", path)
	}
	for _, u := range s.users {
		if path == "userName" && strings.EqualFold(u.userName, value) || path == "emails.value" && strings.EqualFold(u.email, value) {
			return map[string]any{"IdentityStoreId": s.identityStoreID, "UserId": u.id}, nil
		}
	}
	return nil, notFound("USER", "", "USER not found.")
}

func (s *Server) describeUser(in *request, _ time.Time, _ string) (any, error) {
	if err := s.checkIdentityStore(in.IdentityStoreId); err != nil {
		return nil, err
	}
	u := s.users[str(in.UserId)]
	if u == nil {
		return nil, notFound("USER", str(in.UserId), "USER not found.")
	}
	out := map[string]any{"IdentityStoreId": s.identityStoreID, "UserId": u.id, "UserName": u.userName, "DisplayName": u.userName}
	if u.email != "" {
		out["Emails"] = []map[string]any{{"Value": u.email, "Type": "work", "Primary": true}}
	}
	return out, nil
}

func (s *Server) getGroupID(in *request, _ time.Time, _ string) (any, error) {
	if err := s.checkIdentityStore(in.IdentityStoreId); err != nil {
		return nil, err
	}
	path, value, err := uniqueAttribute(in)
	if err != nil {
		return nil, err
	}
	if path != "displayName" {
		return nil, errorf("ValidationException", "Invalid attribute path %q: use displayName", path)
	}
	for _, g := range s.groups {
		if strings.EqualFold(g.name, value) {
			return map[string]any{"IdentityStoreId": s.identityStoreID, "GroupId": g.id}, nil
		}
	}
	return nil, notFound("GROUP", "", "GROUP not found.")
}

func (s *Server) describeGroup(in *request, _ time.Time, _ string) (any, error) {
	if err := s.checkIdentityStore(in.IdentityStoreId); err != nil {
		return nil, err
	}
	g := s.groups[str(in.GroupId)]
	if g == nil {
		return nil, notFound("GROUP", str(in.GroupId), "GROUP not found.")
	}
	return map[string]any{"IdentityStoreId": s.identityStoreID, "GroupId": g.id, "DisplayName": g.name}, nil
}

func (s *Server) listGroupMembershipsForMember(in *request, _ time.Time, _ string) (any, error) {
	if err := s.checkIdentityStore(in.IdentityStoreId); err != nil {
		return nil, err
	}
	if in.MemberId == nil || str(in.MemberId.UserId) == "" {
		return nil, errorf("ValidationException", "1 validation error detected: MemberId.UserId must not be empty")
	}
	userID := *in.MemberId.UserId
	if s.users[userID] == nil {
		return nil, notFound("USER", userID, "USER not found.")
	}
	type memberJSON struct{ UserId string }
	type membershipJSON struct {
		IdentityStoreId, MembershipId, GroupId string
		MemberId                               memberJSON
	}
	var all []membershipJSON
	for _, m := range s.memberships {
		if m.userID == userID {
			all = append(all, membershipJSON{s.identityStoreID, m.id, m.groupID, memberJSON{userID}})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].GroupId < all[j].GroupId })
	from, to, next, err := page(in, len(all))
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"GroupMemberships": append([]membershipJSON{}, all[from:to]...)}, next), nil
}
