package config

import (
	"reflect"
	"strconv"
)

// settings.source_date_epoch: the time a reproducible build stamps on what
// it makes, as SOURCE_DATE_EPOCH. It is sugar for a var: the setting
// becomes the var SourceDateEpochVar (plain for a number, computed for
// "git"), and every step whose kind has a source_date_epoch field and
// leaves it unset gets ${var.settings.source_date_epoch} there. So the
// value enters those steps' keys as any var does, and "git" runs its
// command only when such a step is planned, at most once per plan.

// SourceDateEpochVar is the var settings.source_date_epoch becomes. No var
// of [vars] can have this name (a var name holds no dot), so the two never
// clash; a step may still refer to it as ${var.settings.source_date_epoch}.
const SourceDateEpochVar = "settings.source_date_epoch"

// SourceDateEpochField is the TOML name of the step field the setting is
// the default of (image.build's).
const SourceDateEpochField = "source_date_epoch"

// GitCommitTimeSh is the command settings.source_date_epoch = "git" stands
// for: the committer time of HEAD, in seconds since 1970.
const GitCommitTimeSh = "git log -1 --format=%ct"

// gitCommitTimeHint is what to do when GitCommitTimeSh fails.
const gitCommitTimeHint = `source_date_epoch = "git" takes the time of the last commit: run bottle in a git repository with at least one commit, or give the seconds since 1970 instead, e.g. source_date_epoch = "1700000000"`

// IsEpochSeconds reports whether s is a number of seconds since 1970: digits
// only, that fit in 64 bits.
func IsEpochSeconds(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// sourceDateEpoch reads settings.source_date_epoch: seconds since 1970 as
// a string or a TOML integer, or "git".
func (p *parser) sourceDateEpoch(v any) (string, bool) {
	const path = "settings." + SourceDateEpochField
	switch v := v.(type) {
	case string:
		if v == "git" || IsEpochSeconds(v) {
			return v, true
		}
		p.fieldErr(path, "want seconds since 1970 or \"git\", got %q", v)
	case int64:
		if v >= 0 {
			return strconv.FormatInt(v, 10), true
		}
		p.fieldErr(path, "want seconds since 1970 or \"git\", got %d", v)
	default:
		p.fieldErr(path, "want seconds since 1970 or \"git\", got %s", describe(v))
	}
	return "", false
}

// addSourceDateEpochVar declares the var settings.source_date_epoch stands
// for, when it is set.
func (p *parser) addSourceDateEpochVar(f *File) {
	v := f.Settings.SourceDateEpoch
	if v == "" {
		return
	}
	k := SourceDateEpochVar
	f.VarPos[k] = p.posOf("settings." + SourceDateEpochField)
	if v == "git" {
		if f.Computed == nil {
			f.Computed = map[string]Computed{}
		}
		f.Computed[k] = Computed{Sh: GitCommitTimeSh, Timeout: DefaultComputedTimeout, Hint: gitCommitTimeHint}
		f.Vars[k] = ""
		return
	}
	f.Vars[k] = v
}

// defaultSourceDateEpoch gives every step whose spec has a
// source_date_epoch string field left empty the setting's value, through
// its var: a step's own value wins.
func defaultSourceDateEpoch(f *File) {
	if f.Settings.SourceDateEpoch == "" {
		return
	}
	ref := "${var." + SourceDateEpochVar + "}"
	for _, st := range f.Steps {
		v := reflect.ValueOf(st.Spec)
		if v.Kind() != reflect.Pointer || v.IsNil() {
			continue
		}
		v = v.Elem()
		if v.Kind() != reflect.Struct {
			continue
		}
		for _, tf := range tomlFields(v.Type()) {
			fv := v.Field(tf.index)
			if tf.name == SourceDateEpochField && fv.Kind() == reflect.String && fv.String() == "" && fv.CanSet() {
				fv.SetString(ref)
			}
		}
	}
}

// varPath is the field path where var k is written: vars.k, or the
// setting a var stands for.
func varPath(k string) string {
	if k == SourceDateEpochVar {
		return k
	}
	return "vars." + k
}
