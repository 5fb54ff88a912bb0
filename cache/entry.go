package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MinKeyPrefix is the shortest key prefix MatchKeys takes.
const MinKeyPrefix = 4

// MatchKeys lists the keys of the results in the cache whose hex form
// starts with prefix (lower or upper case), sorted, at most limit of them
// (limit <= 0: all).
func (r *Reader) MatchKeys(prefix string, limit int) ([]Key, error) {
	prefix = strings.ToLower(prefix)
	if len(prefix) < MinKeyPrefix {
		return nil, fmt.Errorf("key prefix %q: give at least %d hex digits", prefix, MinKeyPrefix)
	}
	if strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("key prefix %q: a key is hex digits", prefix)
	}
	if len(prefix) > 2*len(Key{}) {
		return nil, fmt.Errorf("key %q: longer than a key (%d hex digits)", prefix, 2*len(Key{}))
	}
	ents, err := os.ReadDir(filepath.Join(r.dir, "results", prefix[:2]))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []Key
	for _, e := range ents {
		h, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !strings.HasPrefix(h, prefix) {
			continue
		}
		k, err := ParseKey(h)
		if err != nil {
			continue
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}

// Entry reads result k's entry as stored, without checking that its blobs
// are present: for what the result records (its key lines, its values),
// not for restoring it. A missing entry is an error wrapping ErrMiss.
func (r *Reader) Entry(k Key) (*Result, error) {
	b, err := os.ReadFile(resultPath(r.dir, k))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, miss("result %s not found", k.Short())
	}
	if err != nil {
		return nil, fmt.Errorf("reading result %s: %w", k.Short(), err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("result %s: %w", k.Short(), err)
	}
	if res.Key != k {
		return nil, fmt.Errorf("result %s: it names key %s", k.Short(), res.Key.Short())
	}
	return &res, nil
}
