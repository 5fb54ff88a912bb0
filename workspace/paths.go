package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DirName is bottle's own folder at the root of a workspace. This file is
// the only place that spells out what lives in it.
const DirName = ".bottle"

// OutDir is the one folder under .bottle/ where a step may put outputs
// (image.build's archive, image.save's default tarball), workspace-relative
// with forward slashes.
const OutDir = DirName + "/out"

// ConfigFile is the config's name when -f does not give one.
const ConfigFile = "bottle.toml"

// The files under .bottle/.
const (
	snapshotName    = "state"         // the state (statefile.go: binrec records)
	oldSnapshotName = "state.gob"     // the state as bottle wrote it before: read, then replaced
	journalName     = "state.journal" // one JSON line per finished step since the snapshot
	lockName        = "lock"          // the workspace lock, holding who has it
	indexName       = "index"         // the file-hash index (package graph/files owns its format)
	configCacheName = "config.cache"  // the parsed bottle.toml (package graph owns its format)
	watchName       = "watch"         // the file watcher's clock and what it vouches for (package graph/files owns its format); watch.lock beside it
	logsName        = "logs"          // one log per step: logs/STEP.log
	tmpName         = "tmp"           // restore's temporary files; emptied when apply takes the lock
)

// Dir is the .bottle folder of the workspace at root.
func Dir(root string) string { return filepath.Join(root, DirName) }

// IndexPath is the file-hash index of the workspace at root.
func IndexPath(root string) string { return filepath.Join(Dir(root), indexName) }

// WatchPath is where the file watcher's clock is kept for the workspace at
// root (settings.fsmonitor), beside the index it belongs to.
func WatchPath(root string) string { return filepath.Join(Dir(root), watchName) }

// ConfigCachePath is where the parsed config of the workspace at root is kept.
func ConfigCachePath(root string) string { return filepath.Join(Dir(root), configCacheName) }

// TmpDir is where restore writes a file before renaming it into place: a
// short name on the workspace's own file system (an output's name may be as
// long as the system allows, so a temporary name beside it may not fit). A
// kill leaves at most partial files here, and the next apply removes them
// when it takes the workspace lock.
func TmpDir(root string) string { return filepath.Join(Dir(root), tmpName) }

// LogRel is a step's log, workspace-relative, as messages name it.
func LogRel(step string) string { return DirName + "/" + logsName + "/" + step + ".log" }

// LogPath is a step's log in the workspace at root.
func LogPath(root, step string) string { return filepath.Join(root, filepath.FromSlash(LogRel(step))) }

// ConfigPath is the config of the workspace at root: file when given (made
// absolute), else root/bottle.toml.
func ConfigPath(root, file string) string {
	if file == "" {
		return filepath.Join(root, ConfigFile)
	}
	if abs, err := filepath.Abs(file); err == nil {
		return abs
	}
	return file
}

// Reserved reports whether the workspace path rel (clean, with forward
// slashes) is bottle's own: inside .bottle/ but not under .bottle/out/.
func Reserved(rel string) bool {
	return rel == DirName || (strings.HasPrefix(rel, DirName+"/") && rel != OutDir && !strings.HasPrefix(rel, OutDir+"/"))
}

// Init creates the .bottle folder of the workspace at root, with a
// .gitignore holding "*" so that nothing in it is ever committed.
func Init(root string) error {
	dir := Dir(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	gi := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(gi); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(gi, []byte("*\n"), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", gi, err)
		}
	}
	return nil
}
