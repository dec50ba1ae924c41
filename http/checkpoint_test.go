package http_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge/audit"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// testSigner signs the test server's checkpoints.
var testSigner = func() audit.Signer {
	skey, _, err := audit.GenerateKey("api.example.com/audit")
	if err != nil {
		panic(err)
	}
	s, err := audit.ParseSigningKey(skey)
	if err != nil {
		panic(err)
	}
	return s
}()

// TestAuditProofsOverTheAPI: an auditor fetches a checkpoint, proves an
// event and checks a consistency proof with nothing but the public key.
func TestAuditProofsOverTheAPI(t *testing.T) {
	e := newEnv(t)
	r := e.active()
	v, err := audit.ParseVerifierKey(testSigner.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func() audit.Checkpoint {
		t.Helper()
		resp, b := e.do("auditor", "GET", "/api/audit/checkpoint", "")
		var out dbhttp.CheckpointResponse
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("checkpoint: %d %s", resp.StatusCode, b)
		}
		c, err := audit.OpenCheckpoint([]byte(out.Checkpoint), v)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := checkpoint()
	e.active()
	now := checkpoint()
	if now.Size <= old.Size {
		t.Fatalf("the log did not grow: %d then %d", old.Size, now.Size)
	}
	evs, err := e.db.RequestEvents(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp, b := e.do("auditor", "GET", fmt.Sprintf("/api/audit/proof/%d?size=%d", evs[0].Seq, old.Size), "")
	var pr dbhttp.ProofResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &pr) != nil {
		t.Fatalf("proof: %d %s", resp.StatusCode, b)
	}
	p, err := audit.VerifyProof([]byte(pr.Proof), v)
	if err != nil {
		t.Fatal(err)
	}
	if p.Event.RequestID != r.ID || p.Checkpoint.Size != old.Size || p.Checkpoint.Root != old.Root {
		t.Fatalf("proved %+v against %d", p.Event, p.Checkpoint.Size)
	}
	resp, b = e.do("auditor", "GET", fmt.Sprintf("/api/audit/consistency?from=%d&to=%d", old.Size, now.Size), "")
	var cr dbhttp.ConsistencyResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &cr) != nil {
		t.Fatalf("consistency: %d %s", resp.StatusCode, b)
	}
	var proof tlog.TreeProof
	for _, h := range cr.Proof {
		raw, _ := base64.StdEncoding.DecodeString(h)
		proof = append(proof, tlog.Hash(raw))
	}
	if err := tlog.CheckTree(proof, now.Size, now.Root, old.Size, old.Root); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/api/audit/proof/0":                                  "must be a number of events from 1 up",
		"/api/audit/proof/99999":                              "audit event 99999 not found",
		"/api/audit/consistency?from=2&to=1":                  "need 1 ≤ from ≤ to",
		"/api/audit/consistency?from=1":                       "must be a number of events",
		fmt.Sprintf("/api/audit/proof/1?size=%d", now.Size+1): "beyond the log's",
	} {
		resp, b := e.do("auditor", "GET", path, "")
		if resp.StatusCode < 400 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s, want an error with %q", path, resp.StatusCode, b, want)
		}
	}
}
