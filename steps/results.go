package steps

// OutputsResult is the result by which a kind offers its declared outputs
// (exec's ${step.X.outputs}). Planning fills it in from the outputs as
// planned, as a list rather than one string, so that a shell command or an
// argv gets each path as one word whatever bytes it holds.
const OutputsResult = "outputs"
