//go:build !linux || bottle_portable

// Systems other than Linux have no O_PATH: the index looks at files by
// path. So does Linux built with the tag bottle_portable, to run the whole
// test suite on the portable path.

package files

type folder = pathFolder
