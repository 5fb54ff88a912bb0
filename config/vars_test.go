package config

import (
	"strings"
	"testing"
)

func TestEnvValue(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		ref, want, err string
	}{
		{"${env.SET}", "v", ""},
		{"${env.SET:-d}", "v", ""},
		{"${env.UNSET:-d}", "d", ""},
		{"${env.UNSET:-}", "", ""},
		{"${env.EMPTY:-d}", "d", ""}, // empty counts as unset, as in sh
		{"${env.EMPTY}", "", ""},
		{"${env.UNSET:-a b:-c}", "a b:-c", ""},
		{"${env.UNSET}", "", "${env.UNSET} is unset: set UNSET, or give a default: ${env.UNSET:-VALUE}"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			refs, err := Refs(tt.ref)
			if err != nil || len(refs) != 1 {
				t.Fatalf("Refs(%q) = %v, %v", tt.ref, refs, err)
			}
			if got := refs[0].String(); got != tt.ref {
				t.Errorf("String() = %q, want %q", got, tt.ref)
			}
			got, err := refs[0].EnvValue(getenv)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("EnvValue = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestResolveVars(t *testing.T) {
	src := `[vars]
goos = "${env.GOOS:-linux}"
goarch = "${env.GOARCH:-amd64}"
target = "${var.goos}-${var.goarch}"
out = "out/${var.target}"
token = "${env.TOKEN}"
uses_token = "t=${var.token}"
`
	f, err := Parse("bottle.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       map[string]string
		overrides map[string]string
		want      map[string]string
		errs      map[string]string
	}{
		{"defaults", nil, nil,
			map[string]string{"goos": "linux", "goarch": "amd64", "target": "linux-amd64", "out": "out/linux-amd64"},
			map[string]string{"token": "${var.token}: ${env.TOKEN} is unset: set TOKEN, or give a default: ${env.TOKEN:-VALUE} (in bottle.toml:6:1: vars.token)", "uses_token": "${var.token}: ${env.TOKEN} is unset"}},
		{"env", map[string]string{"GOOS": "darwin", "TOKEN": "s"}, nil,
			map[string]string{"goos": "darwin", "target": "darwin-amd64", "out": "out/darwin-amd64", "uses_token": "t=s"}, nil},
		{"empty counts as unset", map[string]string{"GOOS": "", "TOKEN": ""}, nil,
			map[string]string{"goos": "linux", "token": "", "uses_token": "t="}, nil},
		{"override wins and is literal", map[string]string{"GOOS": "darwin"}, map[string]string{"goarch": "arm64", "token": "${env.X}"},
			map[string]string{"goos": "darwin", "target": "darwin-arm64", "token": "${env.X}", "uses_token": "t=${env.X}"}, nil},
		{"override of an inner var", nil, map[string]string{"target": "wasm"},
			map[string]string{"goos": "linux", "target": "wasm", "out": "out/wasm"},
			map[string]string{"token": "${var.token}: ${env.TOKEN} is unset: set TOKEN, or give a default: ${env.TOKEN:-VALUE} (in bottle.toml:6:1: vars.token)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			vals, errs := ResolveVars(f, tt.overrides, getenv, nil)
			for k, want := range tt.want {
				if got, ok := vals[k]; !ok || got != want {
					t.Errorf("%s = %q (%v), want %q", k, got, ok, want)
				}
			}
			for k, want := range tt.errs {
				if err := errs[k]; err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error of %s = %v, want %q…", k, err, want)
				}
				if _, ok := vals[k]; ok {
					t.Errorf("%s has a value despite its error", k)
				}
			}
			if len(tt.errs) == 0 && len(errs) > 0 {
				t.Errorf("errors %v", errs)
			}
		})
	}
}

func TestCheckOverrides(t *testing.T) {
	f, err := Parse("bottle.toml", []byte("[vars]\nversion = \"1\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckOverrides(f, map[string]string{"version": "2"}); err != nil {
		t.Error(err)
	}
	err = CheckOverrides(f, map[string]string{"verison": "2"})
	if want := `--var verison: no var "verison" (did you mean "version"?)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
