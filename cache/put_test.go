package cache

// Storing bytes and readers is for tests only: bottle itself stores files.

import (
	"fmt"
	"io"
)

// PutBytes stores b in the CAS and returns its digest.
func (c *Disk) PutBytes(b []byte) (Digest, error) {
	d, _, err := c.putBlob(bytesReader(b), int64(len(b)))
	if err != nil {
		return Digest{}, fmt.Errorf("storing blob: %w", err)
	}
	return d, nil
}

// bytesReader reads b without implementing io.WriterTo, so that it goes
// through putBlob's own buffer like any other reader.
func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// PutReader stores everything r yields in the CAS and returns its digest and
// size.
func (c *Disk) PutReader(r io.Reader) (Digest, int64, error) {
	d, n, err := c.putBlob(r, -1)
	if err != nil {
		return Digest{}, 0, fmt.Errorf("storing blob: %w", err)
	}
	return d, n, nil
}
