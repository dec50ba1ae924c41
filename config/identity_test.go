package config_test

import "testing"

func TestDirectoryRejectsSharedLinkedIdentities(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		wants     []string
	}{
		{"shared aws_user_id",
			"directory:\n  users:\n    - {email: alice@example.com, aws_user_id: 9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001}\n    - {email: bob@example.com}\n    - {email: alice.alt@example.com, aws_user_id: 9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001}\n",
			[]string{"directory.users[2] (alice.alt@example.com)", "directory.users[0] (alice@example.com)", "aws_user_id 9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001", "same person"}},
		{"shared slack_id",
			"directory:\n  users:\n    - {email: a@x.com, slack_id: U1}\n    - {email: b@x.com, slack_id: U1}\n",
			[]string{"directory.users[1] (b@x.com)", "directory.users[0] (a@x.com)", "slack_id U1"}},
		{"same email in two cases",
			"directory:\n  users:\n    - email: a@x.com\n    - email: A@X.com\n",
			[]string{"directory.users[1] (A@X.com)", "directory.users[0] (a@x.com)"}},
		{"long s look-alike",
			"directory:\n  users:\n    - email: sam@example.com\n    - email: ſam@example.com\n",
			[]string{"directory.users[1]", "U+017F", "ASCII"}},
		{"Cyrillic look-alike",
			"directory:\n  users:\n    - email: \u0430lice@example.com\n",
			[]string{"directory.users[0]", "U+0430", "ASCII"}},
		{"Kelvin sign", "directory:\n  users:\n    - email: \u212Aate@example.com\n",
			[]string{"directory.users[0]", "U+212A"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, noEnv)
			mustFail(t, err, tc.wants...)
		})
	}
}

func TestNumericRanges(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		wants     []string
	}{
		{"negative workers", "expiry:\n  workers: -3\n", []string{"expiry.workers", "-3"}},
		{"negative max_sleep", "expiry:\n  max_sleep: -1s\n", []string{"expiry.max_sleep", "-1s"}},
		{"negative provision_lease", "expiry:\n  provision_lease: -30s\n", []string{"expiry.provision_lease"}},
		{"negative reconcile_interval", "expiry:\n  reconcile_interval: -1m\n", []string{"expiry.reconcile_interval"}},
		{"negative poll_interval", "providers:\n  aws:\n    instance_arn: x\n    permission_sets: {A: b}\n    poll_interval: -1s\n", []string{"providers.aws.poll_interval"}},
		{"negative cache ttl", "providers:\n  aws:\n    instance_arn: x\n    permission_sets: {A: b}\n    identity_cache_ttl: -1s\n", []string{"providers.aws.identity_cache_ttl"}},
		{"NaN tps", "providers:\n  aws:\n    instance_arn: x\n    permission_sets: {A: b}\n    max_tps: .nan\n", []string{"providers.aws.max_tps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, noEnv)
			mustFail(t, err, tc.wants...)
		})
	}
}
