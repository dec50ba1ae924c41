package aws

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"

	"github.com/drawbridge-jit/drawbridge"
)

// defaultSessionDuration is what AWS applies to a permission set whose
// SessionDuration is unset.
const defaultSessionDuration = time.Hour

// SessionDurations reads each configured permission set's session duration
// (DescribePermissionSet), keyed by name. Revoking an assignment does not
// end role sessions already issued from it, so a session duration longer
// than the longest grant policy allows for the permission set lets access
// outlive its grant by up to that much.
func (p *Provider) SessionDurations(ctx context.Context) (map[string]time.Duration, error) {
	const op = "DescribePermissionSet"
	out := make(map[string]time.Duration, len(p.permissionSets))
	for _, name := range p.PermissionSetNames() {
		arn := p.permissionSets[name]
		res, err := p.client.DescribePermissionSet(ctx, &ssoadmin.DescribePermissionSetInput{InstanceArn: &p.instanceARN, PermissionSetArn: &arn})
		if err != nil {
			return nil, classifyAbout(op, "permission set "+name, err)
		}
		if res.PermissionSet == nil || awssdk.ToString(res.PermissionSet.SessionDuration) == "" {
			out[name] = defaultSessionDuration
			continue
		}
		raw := awssdk.ToString(res.PermissionSet.SessionDuration)
		d, err := parseISODuration(raw)
		if err != nil {
			return nil, drawbridge.Permanent(&opError{op: op, subject: "permission set " + name, err: err, msg: err.Error()})
		}
		out[name] = d
	}
	return out, nil
}

// isoDuration matches the ISO 8601 durations AWS uses for session durations
// (PT1H, PT12H, PT30M, PT1H30M), plus days and fractional seconds; years,
// months and weeks have no fixed length and are refused.
var isoDuration = regexp.MustCompile(`^P(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})(?:[.,](\d{1,9}))?S)?)?$`)

// parseISODuration parses an ISO 8601 duration such as "PT1H30M".
func parseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return 0, fmt.Errorf("session duration %q is not an ISO 8601 duration such as PT1H or PT12H", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, _ := strconv.ParseInt(m[i+1], 10, 64) // at most 9 digits
		if n > int64(maxISODuration/unit) {
			return 0, fmt.Errorf("session duration %q is longer than a year", s)
		}
		d += time.Duration(n) * unit
	}
	if frac := m[5]; frac != "" {
		n, _ := strconv.ParseInt((frac + "00000000")[:9], 10, 64)
		d += time.Duration(n)
	}
	if d > maxISODuration {
		return 0, fmt.Errorf("session duration %q is longer than a year", s)
	}
	return d, nil
}

// maxISODuration bounds parsed durations far above AWS's 12-hour maximum,
// and far below time.Duration's range, so the sum cannot overflow.
const maxISODuration = 366 * 24 * time.Hour
