package main

// The operator's own config file: choices that belong to the person running
// bottle and never to a workspace, chiefly whether apply asks before it
// acts. A repository's bottle.toml cannot hold them (config refuses yes,
// color and progress there), so cloning a repository never skips the prompt
// for whoever applies it.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/bottle-build/bottle/config"
)

// userConfig is $XDG_CONFIG_HOME/bottle/config.toml, else
// ~/.config/bottle/config.toml. Each value is the default of the flag of the
// same name, below the flag and its BOTTLE_ variable.
type userConfig struct {
	path     string
	Yes      *bool  `toml:"yes"`
	Color    string `toml:"color"`
	Progress string `toml:"progress"`
}

var userConfigKeys = []string{"yes", "color", "progress"}

// userConfigPath is where the operator's config file is, or "" when there
// is no home to find it in.
func userConfigPath() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "bottle", "config.toml")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "bottle", "config.toml")
}

// loadUserConfig reads the operator's config file; a missing one is an
// empty config. Unknown keys and bad values are errors naming the file.
func loadUserConfig(path string) (*userConfig, error) {
	uc := &userConfig{path: path}
	if path == "" {
		return uc, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return uc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading your config file: %w", err)
	}
	md, err := toml.Decode(string(data), uc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d:%d: %s", path, pe.Position.Line, max(pe.Position.Col, 1), pe.Message)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, k := range md.Undecoded() {
		name := k.String()
		return nil, fmt.Errorf("%s: unknown key %q%s (keys: %s)", path, name, config.Suggest(name, userConfigKeys), strings.Join(userConfigKeys, ", "))
	}
	if uc.Color != "" && !slices.Contains([]string{"auto", "always", "never"}, uc.Color) {
		return nil, fmt.Errorf("%s: color must be auto, always or never, not %q", path, uc.Color)
	}
	if uc.Progress != "" && !slices.Contains([]string{"auto", "tty", "plain"}, uc.Progress) {
		return nil, fmt.Errorf("%s: progress must be auto, tty or plain, not %q", path, uc.Progress)
	}
	return uc, nil
}

// apply sets each flag of fs that the line and the environment left unset
// from the file.
func (uc *userConfig) apply(fs *flag.FlagSet) error {
	if uc == nil {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	values := map[string]string{"color": uc.Color, "progress": uc.Progress}
	if uc.Yes != nil {
		values["yes"] = fmt.Sprint(*uc.Yes)
	}
	for _, name := range userConfigKeys {
		v := values[name]
		if v == "" || set[name] || fs.Lookup(name) == nil {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s: %s: %v", uc.path, name, err)
		}
	}
	return nil
}
