// Package greet says hello in several languages.
package greet

import "strings"

// All returns every greeting addressed to name.
func All(name string) string {
	var b strings.Builder
	for _, g := range greetings {
		b.WriteString(g + ", " + name + "!\n")
	}
	return b.String()
}
