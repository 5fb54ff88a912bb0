package cache

// The cache's identities: a Digest names content, a Key names a step's
// inputs; the compiler keeps the two apart.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Digest is the sha256 of some content: a blob, a file, a result.
type Digest [32]byte

// Key is the sha256 of a step's canonical description (SPEC §5). It is a
// separate type so that a key can never be passed where a content digest is
// expected, or the other way round.
type Key [32]byte

func (d Digest) String() string { return hex.EncodeToString(d[:]) }
func (k Key) String() string    { return hex.EncodeToString(k[:]) }

// IsZero reports whether d is the zero digest (no content recorded).
func (d Digest) IsZero() bool { return d == Digest{} }

// IsZero reports whether k is the zero key (no key computed).
func (k Key) IsZero() bool { return k == Key{} }

// Short is the first 12 hex characters, for messages.
func (d Digest) Short() string { return d.String()[:12] }

// Short is the first 12 hex characters, for messages.
func (k Key) Short() string { return k.String()[:12] }

// SumBytes returns the digest of b.
func SumBytes(b []byte) Digest { return sha256.Sum256(b) }

// SumString returns the digest of s.
func SumString(s string) Digest { return sha256.Sum256([]byte(s)) }

// ParseDigest parses 64 lowercase hex characters.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if err := parseHex(d[:], s); err != nil {
		return Digest{}, fmt.Errorf("bad digest %q: %w", s, err)
	}
	return d, nil
}

// ParseKey parses 64 lowercase hex characters.
func ParseKey(s string) (Key, error) {
	var k Key
	if err := parseHex(k[:], s); err != nil {
		return Key{}, fmt.Errorf("bad key %q: %w", s, err)
	}
	return k, nil
}

func parseHex(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("want %d hex characters, got %d", 2*len(dst), len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("not lowercase hex at %d", i)
		}
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

// MarshalText and UnmarshalText let digests and keys appear as hex in JSON.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	*d = v
	return err
}
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
func (k *Key) UnmarshalText(b []byte) error {
	v, err := ParseKey(string(b))
	*k = v
	return err
}
