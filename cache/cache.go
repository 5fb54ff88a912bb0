// Package cache keeps build results on the local disk: blobs by the sha256 of
// their content (the CAS) and step results by key (the action cache).
//
// The layout follows Go's build cache:
//
//	README                 what this folder is; written once
//	blobs/ab/<hex>         raw content by sha256, read-only (0444) once written
//	results/ab/<hex>.json  result manifests by key, written after their blobs
//	tmp/                   temporary files of atomic writes
//	corrupt/               quarantined blobs and manifests, named <hex>.<unixnano>
//	holds/                 what running applies use, one locked file each (hold.go)
//
// Any number of processes may share one cache. Every write goes to a
// temporary file that is renamed into place, and a result's manifest is
// renamed into place only after every blob it names is durable (PutFile
// and PutResult sync each file; StageFile and CommitResults sync a group
// at once), so a process killed at any instant leaves only complete
// entries visible, and so does a system crash (save blobs fetched from a
// remote, which are not synced: one cut short is found corrupt on read, a
// miss). Every read of a blob's
// content is verified against its digest; a blob that does not match is moved
// to corrupt/ and reported as a miss, never returned.
package cache

import (
	"errors"
	"fmt"
)

// ErrMiss is wrapped by every error that means "not in the cache": not
// found, or found damaged. The reason is in the wrapping error's text, for
// example "result not found" or "blob 0123456789ab missing".
var ErrMiss = errors.New("cache miss")

// ErrReadOnly is storing into a cache this user can only read.
var ErrReadOnly = errors.New("the cache is read-only to this user")

// missError is a miss with its reason.
type missError struct{ reason string }

// Error is the reason of the miss.
func (e *missError) Error() string { return e.reason }

// Is makes every missError match ErrMiss.
func (e *missError) Is(target error) bool { return target == ErrMiss }

// miss returns a miss error saying why.
func miss(format string, args ...any) error {
	return &missError{reason: fmt.Sprintf(format, args...)}
}

// CorruptError is a blob whose content does not match its digest. It counts
// as a miss: errors.Is(err, ErrMiss) holds.
type CorruptError struct {
	Digest  Digest // what the blob should hash to: its name
	Got     Digest // what it does hash to
	Path    string // where it was found
	MovedTo string // where it was quarantined; empty if it was not moved
}

// Error says which blob is corrupt, what it hashes to and where it went.
func (e *CorruptError) Error() string {
	s := fmt.Sprintf("blob %s corrupt: want %s, got %s", e.Digest.Short(), e.Digest.Short(), e.Got.Short())
	if e.MovedTo != "" {
		s += " (moved to " + e.MovedTo + ")"
	}
	return s
}

// Is makes a CorruptError match ErrMiss.
func (e *CorruptError) Is(target error) bool { return target == ErrMiss }
