package http

import (
	"encoding/base64"
	nethttp "net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
)

// The audit log's proofs (docs/audit.md): a signed checkpoint of the
// committed log, an event's inclusion proof against one, and the
// consistency proof between two tree sizes. Checkpoints and consistency
// proofs are hashes only; an inclusion proof carries its event, so it is
// served only to callers who may see that event.

// CheckpointResponse is GET /api/audit/checkpoint.
type CheckpointResponse struct {
	// Checkpoint is the signed C2SP tlog-checkpoint note.
	Checkpoint string `json:"checkpoint"`
}

// ProofResponse is GET /api/audit/proof/{seq}.
type ProofResponse struct {
	// Proof is the self-contained proof text drawbridge audit verify-proof
	// checks offline.
	Proof string `json:"proof"`
}

// ConsistencyResponse is GET /api/audit/consistency.
type ConsistencyResponse struct {
	From  int64    `json:"from"`
	To    int64    `json:"to"`
	Proof []string `json:"proof"` // base64 hashes (RFC 6962 consistency proof)
}

func (s *Server) signer() (audit.Signer, error) {
	if s.AuditSigner == nil {
		return audit.Signer{}, drawbridge.Errorf(drawbridge.ENOTFOUND, "this server signs no audit checkpoints: configure audit.origin and make a key with drawbridge audit keygen (docs/audit.md)")
	}
	return *s.AuditSigner, nil
}

// checkpointAt signs a checkpoint of the first size events of the
// committed log (size 0: all of it).
func (s *Server) checkpointAt(r *nethttp.Request, size int64) (audit.Checkpoint, error) {
	signer, err := s.signer()
	if err != nil {
		return audit.Checkpoint{}, err
	}
	n, err := s.Store.AuditTreeSize(r.Context())
	if err != nil {
		return audit.Checkpoint{}, err
	}
	if size == 0 {
		size = n
	}
	if size > n {
		return audit.Checkpoint{}, drawbridge.Errorf(drawbridge.EINVALID, "size %d is beyond the log's %d events", size, n)
	}
	root, err := tlog.TreeHash(size, audit.Reader(r.Context(), s.Store))
	if err != nil {
		return audit.Checkpoint{}, err
	}
	return audit.SignCheckpoint(signer, size, root)
}

func (s *Server) auditCheckpoint(w nethttp.ResponseWriter, r *nethttp.Request, _ drawbridge.Caller) error {
	c, err := s.checkpointAt(r, 0)
	if err != nil {
		return err
	}
	writeJSON(w, 200, CheckpointResponse{Checkpoint: string(c.Signed)})
	return nil
}

// positive parses a query or path number ≥ 1; "" gives 0 when optional.
func positive(name, v string, optional bool) (int64, error) {
	if v == "" && optional {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, drawbridge.Errorf(drawbridge.EINVALID, "%s %q must be a number of events from 1 up", name, v)
	}
	return n, nil
}

func (s *Server) auditProof(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	seq, err := positive("seq", r.PathValue("seq"), false)
	if err != nil {
		return err
	}
	size, err := positive("size", r.URL.Query().Get("size"), true)
	if err != nil {
		return err
	}
	evs, err := s.Store.AuditAfter(r.Context(), seq-1, 1)
	if err != nil {
		return err
	}
	notFound := drawbridge.Errorf(drawbridge.ENOTFOUND, "audit event %d not found", seq)
	if len(evs) == 0 || evs[0].Seq != seq {
		return notFound
	}
	// An event is shown to whoever may see its request; an event of no
	// request (a denied sign-in) only to an unscoped caller.
	if id := evs[0].RequestID; id != "" {
		req, err := s.Store.GetRequest(r.Context(), id)
		if err != nil || !c.CanSee(req) {
			return notFound
		}
	} else if !c.Admin() && (c.Scope.Providers != nil || c.Scope.Resources != nil || c.Scope.Roles != nil) {
		return notFound
	}
	cp, err := s.checkpointAt(r, size) // size 0: the current log

	if err != nil {
		return err
	}
	p, err := audit.Prove(r.Context(), s.Store, evs[0], cp)
	if err != nil {
		return err
	}
	writeJSON(w, 200, ProofResponse{Proof: string(p.Marshal())})
	return nil
}

func (s *Server) auditConsistency(w nethttp.ResponseWriter, r *nethttp.Request, _ drawbridge.Caller) error {
	q := r.URL.Query()
	from, err := positive("from", q.Get("from"), false)
	if err != nil {
		return err
	}
	to, err := positive("to", q.Get("to"), false)
	if err != nil {
		return err
	}
	n, err := s.Store.AuditTreeSize(r.Context())
	if err != nil {
		return err
	}
	if from > to || to > n {
		return drawbridge.Errorf(drawbridge.EINVALID, "need 1 ≤ from ≤ to ≤ %d (the log's size), got from=%d to=%d", n, from, to)
	}
	p, err := tlog.ProveTree(to, from, audit.Reader(r.Context(), s.Store))
	if err != nil {
		return err
	}
	out := ConsistencyResponse{From: from, To: to, Proof: make([]string, len(p))}
	for i, h := range p {
		out.Proof[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	writeJSON(w, 200, out)
	return nil
}
