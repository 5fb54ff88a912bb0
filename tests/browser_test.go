package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bottle-build/bottle/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// dump-dom FILE OUT: load FILE in a headless Chromium, let its scripts
// run, and write the DOM it ends with to OUT, so that a script can check
// what a browser shows, drawn parts included. Scripts guard it with
// [!browser] skip: see haveBrowser.
func init() {
	scriptCmds["dump-dom"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: dump-dom FILE OUT")
		}
		bin := browser()
		if bin == "" {
			ts.Fatalf("no chromium on PATH (guard the script with [!browser] skip)")
		}
		page, err := filepath.Abs(ts.MkAbs(args[0]))
		ts.Check(err)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		profile := ts.MkAbs(".chromium-profile")
		// --no-sandbox: CI runs as root, which Chromium's sandbox refuses.
		cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
			"--user-data-dir="+profile, "--dump-dom", "file://"+filepath.ToSlash(page))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			ts.Fatalf("chromium: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(string(out), "</html>") {
			ts.Fatalf("chromium printed no DOM:\n%s\n%s", out, stderr.String())
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), out, 0o644))
	}
}

// browser is the headless browser to load pages in, or "".
func browser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// haveBrowser is the browser condition: whether a Chromium is on PATH. Its
// absence is an error when BOTTLE_TEST_REQUIRE names browser (CI installs
// Debian's chromium).
func haveBrowser() (bool, error) {
	if browser() != "" {
		return true, nil
	}
	if testenv.Required("browser") {
		return false, fmt.Errorf("no chromium on PATH, and BOTTLE_TEST_REQUIRE=%s says there must be one (apt-get install chromium)", os.Getenv("BOTTLE_TEST_REQUIRE"))
	}
	return false, nil
}
