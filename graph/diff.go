package graph

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bottle-build/bottle/internal/jsonbytes"
)

// Change is one difference between two sets of key lines.
type Change struct {
	Part string `json:"part"` // "file", "field", "env", "environment", "var", "secret", "tool", "platform", "dep", "kind", "schema"
	Name string `json:"name"` // path, field name, variable, tool or step
	How  string `json:"how"`  // "added", "removed", "modified"
}

// changeJSON is Change as JSON holds it: a file's name is bytes (README:
// "Names in JSON").
type changeJSON struct {
	Part string           `json:"part"`
	Name jsonbytes.String `json:"name"`
	How  string           `json:"how"`
}

// MarshalJSON implements json.Marshaler.
func (c Change) MarshalJSON() ([]byte, error) {
	return json.Marshal(changeJSON{c.Part, jsonbytes.String(c.Name), c.How})
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Change) UnmarshalJSON(b []byte) error {
	var j changeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Change{j.Part, string(j.Name), j.How}
	return nil
}

func (c Change) String() string {
	switch c.Part {
	case "file":
		return c.Name + " " + c.How
	case "dep":
		if c.How == "modified" {
			return "upstream " + c.Name + " changed"
		}
		return "need " + c.Name + " " + c.How
	case "kind", "schema":
		return c.Part + " version changed"
	case "platform":
		if c.How == "modified" {
			return "engine platform changed"
		}
		return "engine platform " + c.How
	default:
		if c.How == "modified" {
			return c.Part + " " + c.Name + " changed"
		}
		return c.Part + " " + c.Name + " " + c.How
	}
}

// splitLine returns a key line's identity (part and name) and its value.
func splitLine(line string) (part, name, value string) {
	part, rest, _ := strings.Cut(line, " ")
	switch part {
	case "file", "link":
		if strings.HasPrefix(rest, `"`) {
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				name, _ = strconv.Unquote(q)
				return "file", name, strings.TrimPrefix(rest[len(q):], " ")
			}
		}
		name, value, _ = strings.Cut(rest, " ")
		return "file", name, part + " " + value
	case "bottle-key":
		return "schema", "", rest
	case "platform":
		return "platform", "", rest
	}
	name, value, _ = strings.Cut(rest, " ")
	return part, name, value
}

// DiffKeyLines lists what changed from old to new, files first, then fields,
// env, environment, secrets (by name), tools and needs.
func DiffKeyLines(old, new []string) []Change {
	type ent struct{ part, name, val string }
	index := func(lines []string) map[string]ent {
		m := make(map[string]ent, len(lines))
		for _, l := range lines {
			p, n, v := splitLine(l)
			m[p+"\x00"+n] = ent{p, n, v}
		}
		return m
	}
	o, n := index(old), index(new)
	var cs []Change
	for id, e := range n {
		if oe, ok := o[id]; !ok {
			cs = append(cs, Change{e.part, e.name, "added"})
		} else if oe.val != e.val {
			cs = append(cs, Change{e.part, e.name, "modified"})
		}
	}
	for id, e := range o {
		if _, ok := n[id]; !ok {
			cs = append(cs, Change{e.part, e.name, "removed"})
		}
	}
	rank := map[string]int{"schema": 0, "kind": 1, "file": 2, "field": 3, "env": 4, "environment": 5, "var": 6, "secret": 7, "tool": 8, "platform": 9, "dep": 10}
	sort.Slice(cs, func(i, j int) bool {
		if rank[cs[i].Part] != rank[cs[j].Part] {
			return rank[cs[i].Part] < rank[cs[j].Part]
		}
		return cs[i].Name < cs[j].Name
	})
	return cs
}

// Summarize puts changes in a few words for a plan line: the first two, then
// a count of the rest.
func Summarize(cs []Change) string {
	if len(cs) == 0 {
		return ""
	}
	// Many file changes of one kind read better as a count.
	files := map[string]int{}
	nfiles := 0
	for _, c := range cs {
		if c.Part == "file" {
			files[c.How]++
			nfiles++
		}
	}
	var parts []string
	if nfiles > 2 {
		for _, how := range []string{"added", "removed", "modified"} {
			if k := files[how]; k > 0 {
				parts = append(parts, fmt.Sprintf("%d files %s", k, how))
			}
		}
		for _, c := range cs {
			if c.Part != "file" {
				parts = append(parts, c.String())
			}
		}
	} else {
		for _, c := range cs {
			parts = append(parts, c.String())
		}
	}
	if len(parts) > 3 {
		return strings.Join(parts[:3], ", ") + fmt.Sprintf(" and %d more", len(parts)-3)
	}
	return strings.Join(parts, ", ")
}
