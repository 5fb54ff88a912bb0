package workspace

import "sort"

func sortSteps(s []*Step) { sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name }) }
