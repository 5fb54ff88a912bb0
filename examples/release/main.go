// Command fuzzy prints the lines of stdin that match a query fuzzily, best
// first: a small stand-in for `fzf --filter`, to show a real Makefile's
// targets as a bottle.toml.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"example.com/fuzzy/match"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Usage = func() { fmt.Fprint(os.Stderr, helpText) }
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	query := strings.Join(flag.Args(), " ")
	type hit struct {
		line  string
		score int
	}
	var hits []hit
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if s, ok := match.Score(sc.Text(), query); ok {
			hits = append(hits, hit{sc.Text(), s})
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "fuzzy:", err)
		os.Exit(2)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	for _, h := range hits {
		fmt.Println(h.line)
	}
	if len(hits) == 0 {
		os.Exit(1)
	}
}
