package graph

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// A parsed config is kept in the workspace (workspace.ConfigCachePath), keyed by the digest of
// the file's bytes (and of the kinds this bottle knows), so that a no-op
// plan of a 5,000-step pipeline does not parse and validate it again. Only a
// file that parsed cleanly is kept; any change to it is a miss.

const configCacheVersion = 6 // 2: groups; 3: computed vars; 4: instances of matrix steps; 5: settings.buildkit and settings.source_date_epoch; 6: settings.fsmonitor

type cachedConfig struct {
	Version  int
	Digest   cache.Digest // of the config bytes and the kinds
	Name     string
	Settings config.Settings
	Vars     map[string]string
	VarPos   map[string]config.Pos
	Computed map[string]config.Computed
	Steps    []cachedStep
	Groups   []*config.Group
}

type cachedStep struct {
	Step config.Step // Spec holds the kind's spec, registered with gob
}

// registerSpecs lets gob carry the kinds' specs in a config's steps. gob
// accepts the same registration again.
func registerSpecs(kinds map[string]steps.Kind) {
	for _, k := range kinds {
		gob.Register(k.NewSpec())
	}
}

func configDigest(data []byte, kinds map[string]steps.Kind) cache.Digest {
	// Hashed as it goes: a copy of a large config into a buffer first
	// cost a no-op plan of 5,000 steps (2.2 MB) more than the hashing.
	h := sha256.New()
	fmt.Fprintf(h, "config-cache %d\n", configCacheVersion)
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(h, "kind %s %d\n", name, kinds[name].Version())
	}
	h.Write(data)
	var d cache.Digest
	h.Sum(d[:0])
	return d
}

// loadCachedConfig returns the parsed config for data if the cache holds it.
func loadCachedConfig(root, name string, data []byte, kinds map[string]steps.Kind) *config.File {
	registerSpecs(kinds)
	b, err := os.ReadFile(workspace.ConfigCachePath(root))
	if err != nil {
		return nil
	}
	var cc cachedConfig
	if gob.NewDecoder(bytes.NewReader(b)).Decode(&cc) != nil ||
		cc.Version != configCacheVersion || cc.Digest != configDigest(data, kinds) || cc.Name != name {
		return nil
	}
	f := &config.File{Name: cc.Name, Settings: cc.Settings, Vars: cc.Vars, VarPos: cc.VarPos, Computed: cc.Computed, Groups: cc.Groups}
	if f.Vars == nil {
		f.Vars = map[string]string{}
	}
	for _, cs := range cc.Steps {
		st := cs.Step
		if _, ok := kinds[st.Kind]; !ok || st.Spec == nil {
			return nil
		}
		f.Steps = append(f.Steps, &st)
	}
	return f
}

// SaveConfigCache keeps the parsed config for the next run. It writes only
// under .bottle/.
func (g *Graph) SaveConfigCache() error {
	if g.configData == nil || g.configFromCache {
		return nil
	}
	f := g.Config
	cc := cachedConfig{Version: configCacheVersion, Digest: configDigest(g.configData, g.kinds), Name: f.Name,
		Settings: f.Settings, Vars: f.Vars, VarPos: f.VarPos, Computed: f.Computed, Groups: f.Groups}
	for _, st := range f.Steps {
		cc.Steps = append(cc.Steps, cachedStep{Step: *st})
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&cc); err != nil {
		return err
	}
	if err := atomicfile.Write(workspace.ConfigCachePath(g.Root), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("saving the parsed config: %w", err)
	}
	return nil
}
