package config

import (
	"maps"
	"testing"
)

// Pools: settings.pools declares each pool's size, and a step's pool must
// name one of them.
func TestPools(t *testing.T) {
	const step = "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n"
	for _, tt := range []struct {
		name, src string
		pools     map[string]int // want, when want is ""
		pool      string         // steps.a's pool, when want is ""
		want      string         // the whole error
	}{
		{name: "none", src: step},
		{name: "declared, unused", src: "[settings]\npools = { heavy = 1, io = 8 }\n" + step,
			pools: map[string]int{"heavy": 1, "io": 8}},
		{name: "used", src: "[settings]\njobs = 4\npools = { heavy = 2 }\n" + step + "pool = \"heavy\"\n",
			pools: map[string]int{"heavy": 2}, pool: "heavy"},
		{name: "as a table", src: "[settings.pools]\nheavy = 1\n" + step + "pool = \"heavy\"\n",
			pools: map[string]int{"heavy": 1}, pool: "heavy"},
		{name: "unknown pool", src: "[settings]\npools = { heavy = 1 }\n" + step + "pool = \"haevy\"\n",
			want: `bottle.toml:6:1: steps.a.pool: no pool "haevy" in settings.pools (did you mean "heavy"?)`},
		{name: "unknown pool, none close", src: "[settings]\npools = { heavy = 1 }\n" + step + "pool = \"net\"\n",
			want: `bottle.toml:6:1: steps.a.pool: no pool "net" in settings.pools`},
		{name: "no pools at all", src: step + "pool = \"heavy\"\n",
			want: `bottle.toml:4:1: steps.a.pool: no pool "heavy": declare it in [settings], e.g. pools = { heavy = 1 }`},
		{name: "pool not a string", src: "[settings]\npools = { heavy = 1 }\n" + step + "pool = 1\n",
			want: `bottle.toml:6:1: steps.a.pool: want a string, got a number`},
		{name: "pools not a table", src: "[settings]\npools = 2\n",
			want: `bottle.toml:2:1: settings.pools: want a table of pool sizes, e.g. { heavy = 1 }, got a number`},
		{name: "size zero", src: "[settings]\npools = { heavy = 0 }\n",
			want: `bottle.toml:2:1: settings.pools.heavy: want a number of steps at once from 1 to 4096, got 0`},
		{name: "size negative", src: "[settings.pools]\nheavy = -1\n",
			want: `bottle.toml:2:1: settings.pools.heavy: want a number of steps at once from 1 to 4096, got -1`},
		{name: "size decimal", src: "[settings.pools]\nheavy = 1.5\n",
			want: `bottle.toml:2:1: settings.pools.heavy: want a whole number of steps at once, got a decimal number`},
		{name: "size a string", src: "[settings.pools]\nheavy = \"1\"\n",
			want: `bottle.toml:2:1: settings.pools.heavy: want a whole number of steps at once, got a string`},
		{name: "bad pool name", src: "[settings.pools]\n\"a-b\" = 1\n",
			want: `bottle.toml:2:1: settings.pools.a-b: bad pool name "a-b": use letters, digits and _, starting with a letter or _`},
		// A pool with a bad size is reported once, not again at the step.
		{name: "bad size, used", src: "[settings]\npools = { heavy = 0 }\n" + step + "pool = \"heavy\"\n",
			want: `bottle.toml:2:1: settings.pools.heavy: want a number of steps at once from 1 to 4096, got 0`},
		{name: "pools misspelt", src: "[settings]\npool = { heavy = 1 }\n",
			want: `bottle.toml:2:1: settings: unknown field "pool" (did you mean "pools"?)`},
		{name: "pool misspelt on a step", src: step + "pol = \"heavy\"\n",
			want: `bottle.toml:4:1: steps.a: unknown field "pol" (did you mean "pool"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bottle.toml", []byte(tt.src), kinds)
			if tt.want != "" {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("error:\n  %v\nwant:\n  %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(f.Settings.Pools, tt.pools) {
				t.Errorf("pools = %v, want %v", f.Settings.Pools, tt.pools)
			}
			if got := f.Step("a").Pool; got != tt.pool {
				t.Errorf("steps.a.pool = %q, want %q", got, tt.pool)
			}
		})
	}
}
