// Command build bundles the console: it installs the front-end dependencies
// pinned in web/package-lock.json (npm ci, only when they changed) and runs
// esbuild's Go API over web/src, writing web's static files and the bundle
// to dist/, which the console package embeds. `go generate
// ./shared/console` runs it; make build, make local and the test script do.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// static are the files of web/ copied to dist/ as they are.
var static = []string{"index.html", "styles.css", "favicon.svg"}

func main() {
	dir := flag.String("dir", ".", "the console package's directory (holding web/ and dist/)")
	out := flag.String("out", "", "output directory (default <dir>/dist)")
	flag.Parse()
	if *out == "" {
		*out = filepath.Join(*dir, "dist")
	}
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "console build:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	web := filepath.Join(dir, "web")
	if err := installDependencies(web); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o750); err != nil {
		return err
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{filepath.Join(mustAbs(web), "src", "main.js")},
		Outfile:           filepath.Join(mustAbs(out), "app.js"),
		Bundle:            true,
		Write:             true,
		Format:            api.FormatESModule,
		Platform:          api.PlatformBrowser,
		Target:            api.ES2020,
		MinifySyntax:      true,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		LegalComments:     api.LegalCommentsLinked,
		// The Cognito library's dependencies (buffer) read Node's global.
		Define:   map[string]string{"global": "globalThis"},
		LogLevel: api.LogLevelWarning,
		// Reproducible output: no absolute paths in the bundle.
		AbsWorkingDir: mustAbs(web),
	})
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return errors.New(strings.Join(msgs, "\n"))
	}
	for _, name := range static {
		if err := copyFile(filepath.Join(web, name), filepath.Join(out, name)); err != nil {
			return err
		}
	}
	return nil
}

// installDependencies runs npm ci when node_modules does not hold what the
// lock file pins; npm records what it installed in
// node_modules/.package-lock.json.
func installDependencies(web string) error {
	want, err := os.ReadFile(filepath.Join(web, "package-lock.json")) // #nosec G304 -- the package's own lock file
	if err != nil {
		return err
	}
	stamp := filepath.Join(web, "node_modules", ".fleetclaim-lock")
	if got, err := os.ReadFile(stamp); err == nil && bytes.Equal(got, want) { // #nosec G304 -- our own stamp in node_modules
		return nil
	}
	// Scripts stay off: the bundle needs the packages' files, not their
	// install hooks.
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir, cmd.Stdout, cmd.Stderr = web, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s (Node.js and npm come from infra/scripts/deps.sh): %w", web, err)
	}
	return os.WriteFile(stamp, want, 0o600) // #nosec G703 -- a fixed name under the package's node_modules
}

func copyFile(from, to string) error {
	in, err := os.Open(from) // #nosec G304 -- the package's own sources
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.Create(to) // #nosec G304 -- the package's own output
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		_ = o.Close() // the copy's error is the one to report
		return err
	}
	return o.Close()
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}
