//go:build !linux || bottle_portable

// Systems other than Linux have no getdents: they list folders the
// portable way. So does Linux built with the tag bottle_portable, to run
// the whole test suite on the portable path.

package files

func (r *dirReader) list(abs string) error { return r.listPortable(abs) }
