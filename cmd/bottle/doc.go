// Command bottle runs a pipeline described in bottle.toml as a graph of
// hashed steps, with a content-addressed cache and a plan/apply workflow.
//
//	bottle plan            what would run and why; no side effects
//	bottle apply           show the plan, ask, then do only what changed
//	bottle explain STEP    why a step has its status
//	bottle graph           the graph, as dot, mermaid or json
//	bottle list            the steps and groups, their kinds and needs; --json
//	bottle logs STEP       the step's last log
//	bottle clean [STEP]    remove declared outputs (never the cache)
//	bottle cache stats|prune|verify|push|pull|warm
//	bottle init            a starter bottle.toml for the folder
//	bottle completion SH   bash, zsh or fish completion
//	bottle version
//	bottle help [CMD]
//
// Every step has a key: the sha256 of everything that decides its result
// (its fields, input files, env values, tools and its needs' results).
// A step whose key was applied and whose outputs are intact is up to date; a
// key whose result is in the cache is restored; otherwise the step runs.
//
// Flags go anywhere after bottle: before the command, after it or among the
// step names; "--" ends them. Help goes to standard output. Run
// 'bottle --help' or 'bottle help CMD' for details; the README has the
// bottle.toml reference.
package main

const manual = `
bottle runs the pipeline in bottle.toml as a graph of hashed steps. Planning
is pure: 'bottle plan' prints what would run and why and changes nothing
outside .bottle/. 'bottle apply' prints the same plan, asks, then restores
cached results and runs only the steps whose inputs changed.

A minimal bottle.toml:

  [steps.gen]
  kind = "exec"
  inputs = ["schema/*.json"]
  run = "mkdir -p gen && ./tools/gen schema > gen/types.go"
  outputs = ["gen/types.go"]

  [steps.bin]
  kind = "exec"
  inputs = ["**/*.go", "go.mod"]      # gen/types.go makes gen a need
  tools = ["go"]
  run = "go build -o build/app ./cmd/app"
  outputs = ["build/app"]

EXAMPLES
  bottle plan                  what would happen, and why
  bottle apply                 do it, after a 'yes'
  bottle apply --yes bin       just bin and what it needs, without asking
  bottle apply --all           every step, whatever settings.default says
  bottle plan -o plan.json && bottle apply plan.json
  bottle explain bin           what changed since bin last ran
  bottle init                  a starter bottle.toml for this folder
  bottle help apply            apply's flags (also: bottle apply --help)

Flags go anywhere after bottle (bottle apply bin --yes); -- ends them.
Whether apply asks is yours to set: --yes, BOTTLE_YES=1, or yes = true in
$XDG_CONFIG_HOME/bottle/config.toml (never in bottle.toml). NO_COLOR turns
colour off unless --color=always.

EXIT STATUS
  0 success, 1 any error, 2 'plan --detailed-exitcode' with changes, 130 interrupted.`
