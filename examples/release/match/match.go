// Package match scores a line against a fuzzy query.
package match

import (
	"strings"
	"unicode"
)

// Score reports whether text holds the runes of query in order, and how
// well: each matched rune scores 1, one right after the previous match 2
// more, one at the start of a word 3 more. A query with no upper-case
// letter ignores case. The empty query matches everything with score 0.
func Score(text, query string) (int, bool) {
	if !strings.ContainsFunc(query, unicode.IsUpper) {
		text = strings.ToLower(text)
	}
	q := []rune(query)
	score, qi, prev := 0, 0, -2
	var last rune = ' '
	for i, r := range []rune(text) {
		if qi < len(q) && r == q[qi] {
			score++
			if prev == i-1 {
				score += 2
			}
			if !unicode.IsLetter(last) && !unicode.IsDigit(last) {
				score += 3
			}
			prev = i
			qi++
		}
		last = r
	}
	return score, qi == len(q)
}
