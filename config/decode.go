package config

import (
	"bytes"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/BurntSushi/toml"
)

// chunkSize is the size of the pieces a large config is decoded in.
// BurntSushi/toml takes more than linear time and memory on one large
// document: 20,000 steps (9 MB) decoded in 0.66-0.86 s as one document
// and in 0.23-0.30 s as pieces of 0.5 MB, one after another, with half
// the memory at the peak.
var chunkSize = 512 << 10

// decodeTOML decodes a TOML document into a tree of maps, and with
// wantKeys the keys in the order written (toml.MetaData.Keys; without, the
// decoder's metadata, as large as the tree, is not kept). A
// large document made of [steps.NAME] tables is decoded in pieces, split
// before such headers, on every core; the pieces are then merged. The
// result is the whole document's: a document is taken in pieces only when
// no piece fails and none defines what another does (see splitSteps and
// mergeSteps); otherwise it is decoded whole, which also gives the error
// of a bad document exactly as it would be.
func decodeTOML(data []byte, wantKeys bool) (map[string]any, []toml.Key, error) {
	if chunks := splitSteps(data, chunkSize); len(chunks) > 1 {
		if raw, keys, ok := decodeChunks(chunks, wantKeys); ok {
			return raw, keys, nil
		}
	}
	var raw map[string]any
	// Not a copy: the decoder makes its own, and the keys' positions
	// share data (a 20,000-step file is 9 MB).
	md, err := toml.Decode(unsafe.String(unsafe.SliceData(data), len(data)), &raw)
	if err != nil {
		return nil, nil, err
	}
	if !wantKeys {
		return raw, nil, nil
	}
	return raw, md.Keys(), nil
}

// decodeChunks decodes each chunk on its own and merges them, or returns
// false if a chunk fails or two define the same step.
func decodeChunks(chunks [][]byte, wantKeys bool) (map[string]any, []toml.Key, bool) {
	raws := make([]map[string]any, len(chunks))
	keys := make([][]toml.Key, len(chunks))
	errs := make([]error, len(chunks))
	next := make(chan int, len(chunks))
	for i := range chunks {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Go(func() {
			for i := range next {
				c := chunks[i]
				md, err := toml.Decode(unsafe.String(unsafe.SliceData(c), len(c)), &raws[i])
				if errs[i] = err; err == nil && wantKeys {
					keys[i] = md.Keys()
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, false
		}
	}
	raw, ok := mergeSteps(raws)
	if !ok {
		return nil, nil, false
	}
	if !wantKeys {
		return raw, nil, true
	}
	return raw, slices.Concat(keys...), true
}

// mergeSteps merges the trees of the pieces splitSteps made: the first
// holds anything, each other only steps (splitSteps saw to it). A step
// in two pieces, or a first piece whose steps are not a table, is a
// document to decode whole.
func mergeSteps(raws []map[string]any) (map[string]any, bool) {
	raw := raws[0]
	if raw == nil {
		raw = map[string]any{}
	}
	steps, ok := raw["steps"].(map[string]any)
	if _, has := raw["steps"]; has && !ok {
		return nil, false
	}
	if steps == nil {
		steps = map[string]any{}
		raw["steps"] = steps
	}
	for _, r := range raws[1:] {
		if len(r) != 1 {
			return nil, false
		}
		more, ok := r["steps"].(map[string]any)
		if !ok {
			return nil, false
		}
		for name, st := range more {
			if _, dup := steps[name]; dup {
				return nil, false
			}
			steps[name] = st
		}
	}
	return raw, true
}

// splitSteps cuts data into pieces of about size bytes, each but the first
// starting at a line "[steps.NAME]" (or "[steps.NAME.more]"), or returns
// nil when data is smaller or not made so. A piece after the first holds
// no other header: a line starting with "[" that does not start
// "[steps." (a header [settings], [[x]] or [steps], or a line of a
// multi-line value), anywhere after the first cut, keeps data whole. So
// does any mention of the table steps in the first piece other than by
// such headers ([steps], steps.x = ..., steps = {...}): TOML lets those
// conflict with a later [steps.NAME] in ways only the whole document
// shows. A cut inside a multi-line string or array leaves a piece that
// fails to decode, and data is then decoded whole.
func splitSteps(data []byte, size int) [][]byte {
	if len(data) < 2*size {
		return nil
	}
	var chunks [][]byte
	start := 0
	for line := 0; line < len(data); {
		end := bytes.IndexByte(data[line:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += line + 1
		}
		l := data[line:end]
		header := bytes.HasPrefix(l, []byte("[steps."))
		if len(chunks) == 0 && !header && mentionsSteps(l) {
			return nil
		}
		if line > start && len(chunks) == 0 && header && line-start >= size {
			chunks = append(chunks, data[start:line])
			start = line
		} else if len(chunks) > 0 {
			if t := bytes.TrimLeft(l, " \t"); len(t) > 0 && t[0] == '[' && !header {
				return nil
			}
			if header && line-start >= size {
				chunks = append(chunks, data[start:line])
				start = line
			}
		}
		line = end
	}
	if len(chunks) == 0 {
		return nil
	}
	return append(chunks, data[start:])
}

// mentionsSteps reports whether a line of the first piece may define the
// table steps otherwise than by a [steps.NAME] header: a header naming
// steps itself, or a key starting steps (bare or quoted).
func mentionsSteps(l []byte) bool {
	t := bytes.TrimLeft(l, " \t")
	if len(t) > 0 && t[0] == '[' {
		t = bytes.TrimLeft(t[1:], " \t[")
	}
	t = bytes.TrimLeft(t, `"'`)
	if !bytes.HasPrefix(t, []byte("steps")) {
		return false
	}
	rest := bytes.TrimLeft(t[len("steps"):], `"' `+"\t")
	return len(rest) == 0 || rest[0] == '.' || rest[0] == '=' || rest[0] == ']'
}
