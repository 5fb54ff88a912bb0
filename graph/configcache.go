package graph

import (
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"unsafe"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/internal/binrec"
	"github.com/bottle-build/bottle/internal/mapfile"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// A parsed config is kept in the workspace (workspace.ConfigCachePath), keyed by the digest of
// the file's bytes (and of the kinds this bottle knows), so that a no-op
// plan of a 5,000-step pipeline does not parse and validate it again. Only a
// file that parsed cleanly is kept; any change to it is a miss.

const configCacheVersion = 8 // 2: groups; 3: computed vars; 4: instances of matrix steps; 5: settings.buildkit and settings.source_date_epoch; 6: binrec steps (configcodec.go); 7: field lines, settings.fsmonitor; 8: config.Positions

// registerSpecs lets gob carry the kinds' specs that configcodec.go cannot
// write field by field (none today). gob accepts the same registration
// again.
func registerSpecs(kinds map[string]steps.Kind) {
	for _, k := range kinds {
		gob.Register(k.NewSpec())
	}
}

func specTypes(kinds map[string]steps.Kind) map[string]reflect.Type {
	t := make(map[string]reflect.Type, len(kinds))
	for name, k := range kinds {
		t[name] = reflect.TypeOf(k.NewSpec())
	}
	return t
}

// configDigest is the cache's key for a config file whose bytes' digest is
// sum.
func configDigest(sum cache.Digest, kinds map[string]steps.Kind) cache.Digest {
	h := sha256.New()
	fmt.Fprintf(h, "config-cache %d key-schema %d\n", configCacheVersion, KeySchema) // the key schema: the field lines kept
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(h, "kind %s %d\n", name, kinds[name].Version())
	}
	configShape(h, specTypes(kinds))
	h.Write(sum[:])
	var d cache.Digest
	h.Sum(d[:0])
	return d
}

// readConfigCache returns the parsed-config cache of the workspace at
// root, or nil when there is none.
func readConfigCache(root string) []byte {
	b, err := mapfile.Read(workspace.ConfigCachePath(root))
	if err != nil {
		return nil
	}
	return b
}

// loadCachedConfig returns the parsed config of the file whose bytes' digest
// is sum, if the cache (b, from readConfigCache) holds it.
func loadCachedConfig(b []byte, name string, sum cache.Digest, kinds map[string]steps.Kind) (*config.File, [][]string) {
	registerSpecs(kinds)
	specs := specTypes(kinds)
	return decodeConfig(b, configDigest(sum, kinds), name, func(kind string) reflect.Type { return specs[kind] })
}

// SaveConfigCache keeps the parsed config for the next run. It writes only
// under .bottle/.
func (g *Graph) SaveConfigCache() error {
	if !g.configParsed || g.configFromCache {
		return nil
	}
	registerSpecs(g.kinds)
	// The field lines of a spec with no ${ are the spec's own: kept, so
	// that no later plan makes them again.
	// They are made in one buffer, used again for every step, and
	// written from there.
	var (
		buf   []byte
		ends  []int
		views []string
	)
	lines := func(w *binrec.Writer, st *config.Step) {
		if n := g.byName[st.Name]; n != nil && n.literalSpec {
			var err error
			if buf, ends, err = appendSpecLines(buf[:0], ends[:0], st.Spec); err == nil {
				views = views[:0]
				start := 0
				for _, end := range ends {
					views = append(views, unsafe.String(unsafe.SliceData(buf[start:]), end-start)) // copied by Strings
					start = end
				}
				w.Bool(true)
				w.Strings(views)
				return
			}
		}
		w.Bool(false)
		w.Strings(nil)
	}
	f, err := atomicfile.Create(workspace.ConfigCachePath(g.Root), "", 0o644)
	if err != nil {
		return fmt.Errorf("saving the parsed config: %w", err)
	}
	defer f.Abort()
	if err := encodeConfig(f, configDigest(g.configSum, g.kinds), g.Config, lines); err != nil {
		return fmt.Errorf("saving the parsed config: %w", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("saving the parsed config: %w", err)
	}
	return nil
}
