// Package watchman is a small client of watchman, the file watcher
// (facebook.github.io/watchman): JSON commands over its unix socket, one
// per line, each answered by one JSON line. It is what `settings.fsmonitor
// = "watchman"` talks to; cmd/bottle turns its answers into a
// files.Changes, the value planning is handed (planning itself opens no
// connection).
//
// Dial never starts a daemon: it connects to the socket of one that runs
// (WATCHMAN_SOCK, else the one `watchman --no-spawn get-sockname` names) or
// fails. Only WatchProject and WatchDel change what watchman watches.
package watchman

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotRunning is returned by Dial when no watchman answers on its socket.
var ErrNotRunning = errors.New("watchman is not running")

// ErrNotInstalled is returned by Dial when there is no socket to try:
// WATCHMAN_SOCK is unset and no watchman program is on PATH.
var ErrNotInstalled = errors.New("watchman is not installed (no watchman on PATH, WATCHMAN_SOCK unset)")

// Client is one connection to a running watchman. It is not safe for
// concurrent use.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// Sockname returns the socket of the watchman for this user: WATCHMAN_SOCK
// when set, else what `watchman --no-spawn get-sockname` says (which
// starts nothing).
func Sockname(ctx context.Context) (string, error) {
	if s := os.Getenv("WATCHMAN_SOCK"); s != "" {
		return s, nil
	}
	prog, err := exec.LookPath("watchman")
	if err != nil {
		return "", ErrNotInstalled
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, "--no-spawn", "--no-pretty", "get-sockname").Output()
	if err != nil {
		return "", fmt.Errorf("asking watchman for its socket: %w", err)
	}
	var r struct {
		Sockname string `json:"sockname"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Sockname == "" {
		return "", fmt.Errorf("asking watchman for its socket: unexpected answer %q", bytes.TrimSpace(out))
	}
	return r.Sockname, nil
}

// Dial connects to the watchman at socket sock. Every command afterwards
// must be answered within timeout.
func Dial(sock string, timeout time.Duration) (*Client, error) {
	conn, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	return &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), timeout: timeout}, nil
}

// Connect is Sockname then Dial.
func Connect(ctx context.Context, timeout time.Duration) (*Client, error) {
	sock, err := Sockname(ctx)
	if err != nil {
		return nil, err
	}
	return Dial(sock, timeout)
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// call sends one command and decodes its answer into out. An answer with
// "error" is an error; unilateral messages (logs, subscriptions) are
// skipped.
func (c *Client) call(out any, args ...any) error {
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("watchman: %w", err)
	}
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("watchman did not answer within %s", c.timeout)
			}
			return fmt.Errorf("watchman: %w", err)
		}
		var head struct {
			Error      string `json:"error"`
			Unilateral bool   `json:"unilateral"`
			Log        string `json:"log"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return fmt.Errorf("watchman: bad answer: %w", err)
		}
		if head.Unilateral || head.Log != "" {
			continue
		}
		if head.Error != "" {
			return fmt.Errorf("watchman: %s", head.Error)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(line, out); err != nil {
			return fmt.Errorf("watchman: bad answer: %w", err)
		}
		return nil
	}
}

// Version returns watchman's version.
func (c *Client) Version() (string, error) {
	var r struct {
		Version string `json:"version"`
	}
	err := c.call(&r, "version")
	return r.Version, err
}

// WatchProject asks watchman to watch dir, or the project that holds it
// (the nearest folder above with a .watchmanconfig or a .git, as watchman
// decides). It returns the watched root and dir's path relative to it
// ("" when dir is the root).
func (c *Client) WatchProject(dir string) (root, rel string, err error) {
	var r struct {
		Watch        string `json:"watch"`
		RelativePath string `json:"relative_path"`
	}
	if err := c.call(&r, "watch-project", dir); err != nil {
		return "", "", err
	}
	return r.Watch, r.RelativePath, nil
}

// WatchDel stops watching root.
func (c *Client) WatchDel(root string) error {
	return c.call(nil, "watch-del", root)
}

// WatchList returns the watched roots.
func (c *Client) WatchList() ([]string, error) {
	var r struct {
		Roots []string `json:"roots"`
	}
	err := c.call(&r, "watch-list")
	return r.Roots, err
}

// Find returns the watched root that holds dir (the deepest one) and dir's
// path relative to it, without watching anything; ok is false when no
// watched root holds dir. dir should have its links resolved, as watchman's
// roots have.
func (c *Client) Find(dir string) (root, rel string, ok bool, err error) {
	roots, err := c.WatchList()
	if err != nil {
		return "", "", false, err
	}
	for _, r := range roots {
		if len(r) <= len(root) {
			continue
		}
		if dir == r {
			root, rel, ok = r, "", true
		} else if strings.HasPrefix(dir, r+string(filepath.Separator)) || r == "/" && strings.HasPrefix(dir, "/") {
			root, rel, ok = r, filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(dir, r), "/")), true
		}
	}
	return root, rel, ok, nil
}

// Config returns the root's .watchmanconfig as watchman read it.
func (c *Client) Config(root string) (map[string]json.RawMessage, error) {
	var r struct {
		Config map[string]json.RawMessage `json:"config"`
	}
	err := c.call(&r, "get-config", root)
	return r.Config, err
}

// Clock returns root's clock now, after watchman has seen every change
// made before the call (it syncs with the file system, waiting at most
// the client's timeout).
func (c *Client) Clock(root string) (string, error) {
	var r struct {
		Clock string `json:"clock"`
	}
	err := c.call(&r, "clock", root, map[string]any{"sync_timeout": c.syncMillis()})
	return r.Clock, err
}

func (c *Client) syncMillis() int64 { return max(1, c.timeout.Milliseconds()*3/4) }

// File is one path that changed.
type File struct {
	Name   string `json:"name"`   // relative to the query's rel, slash-separated
	Exists bool   `json:"exists"` // whether it exists now
	New    bool   `json:"new"`    // created since the clock asked from
	Type   string `json:"type"`   // f (file), d (folder), l (link), ... ("?" when gone and unknown)
}

// Changes is what changed below a root since a clock.
type Changes struct {
	Clock string // the root's clock as of the answer
	// Fresh is true when watchman cannot answer since the clock (another
	// instance made it, or it forgot): Files is then empty, and does not
	// say that nothing changed.
	Fresh   bool
	Warning string // watchman's warning, such as that it recrawled
	Files   []File
}

// Since asks what changed below rel (relative to root; "" for all of it)
// since clock, after syncing with the file system as Clock does.
func (c *Client) Since(root, rel, clock string) (*Changes, error) {
	q := map[string]any{
		"since":                   clock,
		"fields":                  []string{"name", "exists", "new", "type"},
		"sync_timeout":            c.syncMillis(),
		"empty_on_fresh_instance": true,
	}
	if rel != "" {
		q["relative_root"] = rel
	}
	var r struct {
		Clock string `json:"clock"`
		Fresh bool   `json:"is_fresh_instance"`
		Warn  string `json:"warning"`
		Files []File `json:"files"`
	}
	if err := c.call(&r, "query", root, q); err != nil {
		return nil, err
	}
	return &Changes{Clock: r.Clock, Fresh: r.Fresh, Warning: r.Warn, Files: r.Files}, nil
}
