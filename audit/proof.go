package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
)

// proofHeader opens a proof text, so that a wrong file is named as such.
const proofHeader = "drawbridge-audit-proof/v1"

// Proof shows that one event is in the log a signed checkpoint describes:
// the event's leaf bytes, its RFC 6962 inclusion proof and the checkpoint.
// Its text form (Marshal) is self-contained: an auditor checks it with the
// log's public key alone (VerifyProof), without trusting the server.
type Proof struct {
	Event      drawbridge.AuditEvent
	Leaf       []byte
	Inclusion  tlog.RecordProof
	Checkpoint Checkpoint
}

// Prove builds the inclusion proof of event seq in the tree of checkpoint
// c, reading the event with scanOne and the hashes from the store.
func Prove(ctx context.Context, s HashStore, ev drawbridge.AuditEvent, c Checkpoint) (Proof, error) {
	if ev.Seq < 1 || ev.Seq > c.Size {
		return Proof{}, drawbridge.Errorf(drawbridge.ENOTFOUND, "audit event %d is not in the checkpoint of %d events", ev.Seq, c.Size)
	}
	p, err := tlog.ProveRecord(c.Size, ev.Seq-1, Reader(ctx, s))
	if err != nil {
		return Proof{}, fmt.Errorf("inclusion proof of audit event %d: %w", ev.Seq, err)
	}
	leaf := Leaf(&ev)
	if err := tlog.CheckRecord(p, c.Size, c.Root, ev.Seq-1, tlog.RecordHash(leaf)); err != nil {
		return Proof{}, fmt.Errorf("audit event %d as stored is not the leaf the tree holds (run drawbridge audit verify): %w", ev.Seq, err)
	}
	return Proof{Event: ev, Leaf: leaf, Inclusion: p, Checkpoint: c}, nil
}

// Marshal writes the proof as text: a header line, "event " and the leaf,
// one "hash " line per proof hash, "checkpoint" and the signed checkpoint.
func (p Proof) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(proofHeader + "\n")
	b.WriteString("event ")
	b.Write(p.Leaf)
	b.WriteString("\n")
	for _, h := range p.Inclusion {
		b.WriteString("hash " + base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("checkpoint\n")
	b.Write(p.Checkpoint.Signed)
	return b.Bytes()
}

// VerifyProof checks a proof text offline with the log's public key: the
// checkpoint's signature, and that the event's leaf, at its sequence
// number, is in the tree the checkpoint signs. It returns the proved
// proof; any change to the event, the hashes or the checkpoint fails.
func VerifyProof(text []byte, v note.Verifier) (Proof, error) {
	head, rest, ok := bytes.Cut(text, []byte("\n"))
	if !ok || string(head) != proofHeader {
		return Proof{}, fmt.Errorf("not a Drawbridge audit proof (the first line must be %s): make one with drawbridge audit prove", proofHeader)
	}
	line, rest, _ := bytes.Cut(rest, []byte("\n"))
	leaf, ok := bytes.CutPrefix(line, []byte("event "))
	if !ok {
		return Proof{}, errors.New("audit proof: the second line must be the event")
	}
	var p Proof
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return Proof{}, errors.New("audit proof: no checkpoint")
		}
		if string(line) == "checkpoint" {
			break
		}
		b64, isHash := strings.CutPrefix(string(line), "hash ")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if !isHash || err != nil || len(raw) != tlog.HashSize {
			return Proof{}, fmt.Errorf("audit proof: %q is not a hash line", line)
		}
		p.Inclusion = append(p.Inclusion, tlog.Hash(raw))
	}
	c, err := OpenCheckpoint(rest, v)
	if err != nil {
		return Proof{}, err
	}
	ev, err := ParseLeaf(leaf)
	if err != nil {
		return Proof{}, err
	}
	if ev.Seq < 1 || ev.Seq > c.Size {
		return Proof{}, fmt.Errorf("audit proof: event %d is not within the checkpoint's %d events", ev.Seq, c.Size)
	}
	if err := tlog.CheckRecord(p.Inclusion, c.Size, c.Root, ev.Seq-1, tlog.RecordHash(leaf)); err != nil {
		return Proof{}, fmt.Errorf("audit proof: event %d is NOT in the log of checkpoint %d (the event or the proof was changed): %w", ev.Seq, c.Size, err)
	}
	p.Event, p.Leaf, p.Checkpoint = ev, bytes.Clone(leaf), c
	return p, nil
}
