package config

import (
	"fmt"
	"strings"
)

// Suggest returns ` (did you mean "x"?)` for the candidate closest to got,
// if any is close enough; every "did you mean" of bottle comes from here.
func Suggest(got string, candidates []string) string { return suggest(got, candidates) }

// Closest returns the candidate closest to got when it is close enough to be
// what was meant, for callers that word the suggestion their own way (a
// command-line flag is suggested as --yes, not "yes").
func Closest(got string, candidates []string) (string, bool) {
	best, bestD := closest(got, candidates)
	limit := 2
	if len(got) > 8 {
		limit = len(got) / 3
	}
	if best == "" || bestD > limit || bestD == 0 && best == got {
		return "", false
	}
	return best, true
}

func suggest(got string, candidates []string) string {
	best, ok := Closest(got, candidates)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func closest(got string, candidates []string) (string, int) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance, so that a swap of two letters ("rnu" for "run") counts as one.
func editDistance(a, b string) int {
	la, lb := len(a), len(b)
	d := make([][]int, la+1)
	for i := range d {
		d[i] = make([]int, lb+1)
		d[i][0] = i
	}
	for j := 0; j <= lb; j++ {
		d[0][j] = j
	}
	for i := 1; i <= la; i++ {
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[la][lb]
}
