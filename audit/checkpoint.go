package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/drawbridge-jit/drawbridge"
)

// Checkpoint is a signed statement "the log named Origin had Size events
// and its Merkle tree hashed to Root", in the C2SP tlog-checkpoint format
// (https://c2sp.org/tlog-checkpoint): the body is three lines — origin,
// size in decimal, root hash in base64 — signed as a golang.org/x/mod note
// with an Ed25519 key named after the origin. tlog.FormatTree is not used:
// it writes Go's checksum-database origin.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	// Signed is the whole note, body and signature lines, exactly as
	// published: what an auditor keeps and hands back to verify.
	Signed []byte
}

// CheckOrigin reports whether origin can name a log and its key: the note
// format refuses an empty name, spaces and '+'.
func CheckOrigin(origin string) error {
	if origin == "" {
		return errors.New("audit.origin is empty: name the log after this deployment, e.g. drawbridge.example.com/audit")
	}
	if strings.ContainsFunc(origin, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || !unicode.IsPrint(r) }) {
		return fmt.Errorf("audit.origin %q contains a space, '+' or a control character: use a host name and path, e.g. drawbridge.example.com/audit", origin)
	}
	return nil
}

// GenerateKey makes an Ed25519 key pair named origin in the note formats:
// skey is "PRIVATE+KEY+origin+…" (keep it secret), vkey is "origin+…" (give
// it to auditors).
func GenerateKey(origin string) (skey, vkey string, err error) {
	if err := CheckOrigin(origin); err != nil {
		return "", "", err
	}
	return note.GenerateKey(rand.Reader, origin)
}

// Signer is a checkpoint signing key with its public half.
type Signer struct {
	note.Signer
	// Verifier is the public key in the note format ("origin+hash+key").
	Verifier string
}

// ParseSigningKey reads a private key written by GenerateKey and derives
// its public key, so that only one secret has to be configured.
func ParseSigningKey(skey string) (Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return Signer{}, errors.New("not a checkpoint signing key (PRIVATE+KEY+<origin>+…): make one with drawbridge audit keygen")
	}
	// PRIVATE+KEY+name+hash+base64(0x01 ‖ Ed25519 seed).
	// The key data is base64 and may itself contain '+'.
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return Signer{}, errors.New("not an Ed25519 checkpoint signing key: make one with drawbridge audit keygen")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return Signer{}, err
	}
	return Signer{Signer: s, Verifier: vkey}, nil
}

// ParseVerifierKey reads a public key ("origin+hash+key", as written by
// drawbridge audit keygen to the .pub file).
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("not a checkpoint public key (<origin>+<hash>+<key>, the .pub file drawbridge audit keygen writes): %w", err)
	}
	return v, nil
}

// CheckpointBody is the C2SP tlog-checkpoint body for a tree.
func CheckpointBody(origin string, size int64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// SignCheckpoint signs the checkpoint of a tree of size events with root
// root; the log is named after the key.
func SignCheckpoint(s note.Signer, size int64, root tlog.Hash) (Checkpoint, error) {
	signed, err := note.Sign(&note.Note{Text: CheckpointBody(s.Name(), size, root)}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	return Checkpoint{Origin: s.Name(), Size: size, Root: root, Signed: signed}, nil
}

// NewCheckpoint signs a checkpoint of the store's committed log. The size
// is read first and every stored hash of a committed size is committed
// with it, so the root is that of a state some transaction committed,
// never of a half-written append.
func NewCheckpoint(ctx context.Context, s HashStore, signer note.Signer) (Checkpoint, error) {
	size, err := s.AuditTreeSize(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	root, err := tlog.TreeHash(size, Reader(ctx, s))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: tree hash of %d events: %w", size, err)
	}
	return SignCheckpoint(signer, size, root)
}

// OpenCheckpoint checks a signed checkpoint against the public key v and
// parses it. The origin must be the key's name: a checkpoint of another
// log signed with the same key is not this log's.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return Checkpoint{}, fmt.Errorf("checkpoint is not signed by the key %s: wrong public key, or not this log's checkpoint", v.Name())
		}
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.SplitAfter(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return Checkpoint{}, errors.New("checkpoint body is not origin, size and root hash on three lines")
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	if origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint is for log %q, the key is for %q", origin, v.Name())
	}
	size, err := strconv.ParseInt(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimSuffix(lines[1], "\n") {
		return Checkpoint{}, fmt.Errorf("checkpoint tree size %q is not a decimal number", strings.TrimSuffix(lines[1], "\n"))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(raw) != tlog.HashSize {
		return Checkpoint{}, errors.New("checkpoint root hash is not 32 bytes of base64")
	}
	c := Checkpoint{Origin: origin, Size: size, Signed: bytes.Clone(signed)}
	copy(c.Root[:], raw)
	return c, nil
}

// CheckConsistent checks with the store's hashes that the tree of size
// later.Size extends the tree of c (a consistency proof, RFC 6962): the
// check a publisher makes before publishing a new checkpoint, and remote
// verification makes with a proof from the API.
func CheckConsistent(ctx context.Context, s HashStore, older, newer Checkpoint) error {
	if newer.Size < older.Size {
		return drawbridge.Errorf(drawbridge.ECONFLICT, "the log has %d events, fewer than the %d of an earlier checkpoint: events were deleted", newer.Size, older.Size)
	}
	p, err := tlog.ProveTree(newer.Size, older.Size, Reader(ctx, s))
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(p, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return drawbridge.Errorf(drawbridge.ECONFLICT, "the log of %d events does not extend the checkpoint of %d events: history was rewritten", newer.Size, older.Size)
	}
	return nil
}
