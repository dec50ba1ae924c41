package config_test

import "testing"

// aws_user_id is an Identity Store user id, which AWS only accepts in its
// own format (ten hex digits and a dash, optionally, then a UUID): any other
// value would fail every grant with a ValidationException from AWS, so it
// is an error when the configuration is loaded.
func TestAWSUserIDMustBeAnIdentityStoreID(t *testing.T) {
	for _, id := range []string{"9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001", "a1b2c3d4-1111-4a1a-8a1a-000000000001", "A1B2C3D4-1111-4A1A-8A1A-000000000001"} {
		if _, err := parse(t, "directory:\n  users:\n    - {email: alice@example.com, aws_user_id: "+id+"}\n", noEnv); err != nil {
			t.Errorf("aws_user_id %s: %v", id, err)
		}
	}
	for _, id := range []string{
		"9067e8a1b2-1111-4a1a-8a1a-000000000001", // the old example: a UUID short of a group
		"alice", "ops-1", "9067E8A1B2-a1b2c3d4-1111-4a1a-8a1a-000000000001", " a1b2c3d4-1111-4a1a-8a1a-000000000001",
	} {
		_, err := parse(t, "directory:\n  users:\n    - {email: bob@example.com}\n    - {email: alice@example.com, aws_user_id: \""+id+"\"}\n", noEnv)
		mustFail(t, err, "directory.users[1] (alice@example.com)", "aws_user_id", "Identity Store user id", "aws identitystore get-user-id")
	}
}
