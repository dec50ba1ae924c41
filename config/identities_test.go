package config_test

import (
	"maps"
	"testing"
)

// TestDirectoryIdentitiesMap: a user's linked identities come from
// slack_id, aws_user_id and the identities: map alike, and one identity
// belongs to one entry whichever key wrote it.
func TestDirectoryIdentitiesMap(t *testing.T) {
	cfg, err := parse(t, `directory:
  users:
    - email: alice@example.com
      slack_id: U1
      aws_user_id: 9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001
      identities:
        oidc: "https://idp.example.com#248289761001"
        entra: 7f1c7a4e-0000-4000-8000-000000000001
    - email: bob@example.com
      identities: {slack: U2, boundary: u_1234567890}
`, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"slack": "U1", "aws": "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001",
		"oidc": "https://idp.example.com#248289761001", "entra": "7f1c7a4e-0000-4000-8000-000000000001"}
	if got := cfg.Directory.Users[0].LinkedIdentities(); !maps.Equal(got, want) {
		t.Errorf("alice's identities %v, want %v", got, want)
	}
	if got := cfg.Directory.Users[1].LinkedIdentities(); !maps.Equal(got, map[string]string{"slack": "U2", "boundary": "u_1234567890"}) {
		t.Errorf("bob's identities %v", got)
	}
	for _, tc := range []struct {
		name, src string
		wants     []string
	}{
		{"shared oidc subject",
			"directory:\n  users:\n    - {email: a@x.com, identities: {oidc: \"https://idp#1\"}}\n    - {email: b@x.com, identities: {oidc: \"https://idp#1\"}}\n",
			[]string{"directory.users[1] (b@x.com)", "directory.users[0] (a@x.com)", "identities.oidc https://idp#1", "same person"}},
		{"slack_id and identities.slack name one user",
			"directory:\n  users:\n    - {email: a@x.com, slack_id: U1}\n    - {email: b@x.com, identities: {slack: U1}}\n",
			[]string{"directory.users[1] (b@x.com)", "directory.users[0] (a@x.com)", "U1"}},
		{"both keys for one kind",
			"directory:\n  users:\n    - {email: a@x.com, slack_id: U1, identities: {slack: U2}}\n",
			[]string{"directory.users[0] (a@x.com)", "slack_id", "identities.slack", "not both"}},
		{"unknown kind",
			"directory:\n  users:\n    - {email: a@x.com, identities: {slak: U1}}\n",
			[]string{"directory.users[0] (a@x.com)", `"slak"`, "slack, aws, oidc"}},
		{"empty id",
			"directory:\n  users:\n    - {email: a@x.com, identities: {okta: \"\"}}\n",
			[]string{"directory.users[0] (a@x.com)", "identities.okta", "empty"}},
		{"oidc without subject",
			"directory:\n  users:\n    - {email: a@x.com, identities: {oidc: \"https://idp.example.com\"}}\n",
			[]string{"directory.users[0] (a@x.com)", "identities.oidc", "<issuer>#<subject>"}},
		{"aws id in the map is checked too",
			"directory:\n  users:\n    - {email: a@x.com, identities: {aws: alice}}\n",
			[]string{"directory.users[0] (a@x.com)", "Identity Store user id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, noEnv)
			mustFail(t, err, tc.wants...)
		})
	}
}
