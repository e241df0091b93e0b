package docsnippets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"iter"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// genDir is where the snippets' packages appear to be, inside the module, so
// the module's go.mod and go.sum serve them and no network is needed. The
// files exist only in the build's overlay: nothing is written to the tree.
const genDir = "internal/docsnippets/gen"

// buildTimeout bounds one go build or go vet of the snippets.
const buildTimeout = 5 * time.Minute

// repoRoot returns the repository root: this package is two levels below it.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	return root
}

// markdownFiles returns README.md and every .md file under docs/, relative
// to root, slash-separated.
func markdownFiles(t testing.TB, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// allSnippets returns the Go snippets of every Markdown file.
func allSnippets(t testing.TB, root string) []snippet {
	t.Helper()
	var all []snippet
	names := map[string]snippet{}
	for _, f := range markdownFiles(t, root) {
		ss, err := extract(root, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.name != "" {
				if prev, ok := names[s.name]; ok {
					t.Fatalf("%s: snippet name %q already used at %s", s, s.name, prev)
				}
				names[s.name] = s
			}
		}
		all = append(all, ss...)
	}
	return all
}

// goTool returns the go command's path.
func goTool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the snippets: %v", err)
	}
	return p
}

// overlay writes ss, all of the module in directory dir, as packages that
// exist only in a build overlay inside that module, and returns the overlay
// file and the packages' patterns. A snippet that declares tests becomes a
// _test.go file.
func overlay(t *testing.T, dir string, ss []snippet) (file string, pkgs []string) {
	t.Helper()
	tmp := t.TempDir()
	replace := map[string]string{}
	for _, s := range ss {
		src, err := source(s)
		if err != nil {
			t.Fatal(err)
		}
		real := filepath.Join(tmp, s.dir()+".go")
		if err := os.WriteFile(real, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		name := "snippet.go"
		if hasTests(s) {
			name = "snippet_test.go"
		}
		pkg := path.Join(genDir, s.dir())
		replace[filepath.Join(dir, filepath.FromSlash(pkg), name)] = real
		pkgs = append(pkgs, "./"+pkg)
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, pkgs
}

// goCmd runs the go command in dir and fails the test if it fails.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(t), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s of the snippets in %s: %v\n%s", args[0], dir, err, out)
	}
}

// build builds ss, which must not declare tests, with one go build. A
// snippet that does not compile fails the test, with errors that name the
// Markdown file and line. With binDir set, the programs are written there,
// each named after its snippet's dir; otherwise nothing is written. (go vet
// cannot check them: it changes into each package's directory, and these
// exist only in the overlay.)
func build(t *testing.T, root string, ss []snippet, binDir string) {
	t.Helper()
	for module, ss := range byModule(ss) {
		dir := filepath.Join(root, filepath.FromSlash(module))
		file, pkgs := overlay(t, dir, ss)
		args := []string{"build", "-overlay", file}
		if binDir != "" {
			// With -o, go build skips packages that are not main: only
			// use it for programs.
			args = append(args, "-o", binDir+string(filepath.Separator))
		}
		goCmd(t, dir, append(args, pkgs...)...)
	}
}

// byModule groups snippets by the module they are built in, in the order
// of their module's first snippet.
func byModule(ss []snippet) iter.Seq2[string, []snippet] {
	return func(yield func(string, []snippet) bool) {
		var order []string
		groups := map[string][]snippet{}
		for _, s := range ss {
			if _, ok := groups[s.module]; !ok {
				order = append(order, s.module)
			}
			groups[s.module] = append(groups[s.module], s)
		}
		for _, m := range order {
			if !yield(m, groups[m]) {
				return
			}
		}
	}
}

// runTests compiles the test snippets ss with one go test -c and runs each
// test binary; a failing test fails t.
func runTests(t *testing.T, root string, ss []snippet) {
	t.Helper()
	binDir := t.TempDir()
	for module, ss := range byModule(ss) {
		dir := filepath.Join(root, filepath.FromSlash(module))
		file, pkgs := overlay(t, dir, ss)
		goCmd(t, dir, append([]string{"test", "-vet=off", "-overlay", file, "-c", "-o", binDir + string(filepath.Separator)}, pkgs...)...)
	}
	for _, s := range ss {
		ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, s.dir()+".test"))
		cmd.Dir = binDir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: the test in the snippet fails: %v\n%s", s, err, out)
		}
	}
}

// TestSnippetsCompile builds every Go snippet of README.md and docs/, runs
// the snippets that are tests, and checks that the complete programs are
// gofmt-formatted.
func TestSnippetsCompile(t *testing.T) {
	root := repoRoot(t)
	ss := allSnippets(t, root)
	if len(ss) == 0 {
		t.Fatal("no Go snippets found")
	}
	for _, s := range ss {
		if !isProgram(s.code) {
			continue
		}
		formatted, err := format.Source([]byte(s.code))
		if err != nil {
			continue // the build reports it, with its line
		}
		if string(formatted) != s.code {
			t.Errorf("%s: the program is not gofmt-formatted; gofmt would write:\n%s", s, formatted)
		}
	}
	var code, tests []snippet
	for _, s := range ss {
		if hasTests(s) {
			tests = append(tests, s)
		} else {
			code = append(code, s)
		}
	}
	build(t, root, code, "")
	runTests(t, root, tests)
	t.Logf("%d snippets compiled, %d of them tests that ran", len(ss), len(tests))
}

// TestREADMEExamplesArePrograms checks that the README shows only complete
// programs, so a reader can copy one and run it, and that the three named
// examples the run tests use are there.
func TestREADMEExamplesArePrograms(t *testing.T) {
	root := repoRoot(t)
	ss, err := extract(root, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, s := range ss {
		if !isProgram(s.code) {
			t.Errorf("%s: README snippets must be complete programs (package main)", s)
		}
		named[s.name] = true
	}
	for _, want := range []string{"cache", "oauth", "fleet"} {
		if !named[want] {
			t.Errorf("README.md has no snippet named %q", want)
		}
	}
}

// readmeLimit is the README's size bound: it should fit on a few screens;
// the rest belongs in docs/.
const readmeLimit = 12 * 1024

func TestREADMESize(t *testing.T) {
	fi, err := os.Stat(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > readmeLimit {
		t.Errorf("README.md is %d bytes, over %d: move detail to docs/", fi.Size(), readmeLimit)
	}
}

// testCommand is how the README tells a reader to run the tests; .ci/run
// runs the same command in every module.
const testCommand = "go test -race -count=1 ./..."

func TestREADMETestCommandIsWhatCIRuns(t *testing.T) {
	root := repoRoot(t)
	for _, f := range []string{"README.md", ".ci/run"} {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), testCommand) {
			t.Errorf("%s does not contain the test command %q", f, testCommand)
		}
	}
}

// TestRelativeLinksResolve checks that every relative link of README.md and
// docs/ names a file or directory that exists, and that a #fragment into a
// Markdown file names one of its headings.
func TestRelativeLinksResolve(t *testing.T) {
	root := repoRoot(t)
	for _, f := range markdownFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links(string(data)) {
			target := f
			if l.path != "" {
				target = path.Join(path.Dir(f), l.path)
			}
			p := filepath.Join(root, filepath.FromSlash(target))
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: link to %s: no such file", f, l.path)
				continue
			}
			if l.fragment == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			md, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(anchors(string(md)), l.fragment) {
				t.Errorf("%s: link to %s#%s: no such heading", f, l.path, l.fragment)
			}
		}
	}
}

var (
	linkRe = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// codeRe matches fenced blocks and code spans, whose text is not links.
	codeRe = regexp.MustCompile("(?s)```.*?```|`[^`\n]*`")
)

// A link is a relative link target: a path (empty for the same file) and
// a fragment.
type link struct{ path, fragment string }

// links returns the relative links of a Markdown text.
func links(md string) []link {
	var out []link
	md = codeRe.ReplaceAllString(md, "")
	for _, m := range linkRe.FindAllStringSubmatch(md, -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		p, frag, _ := strings.Cut(target, "#")
		out = append(out, link{path: p, fragment: frag})
	}
	return out
}

var (
	headingRe = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$`)
	slugDrop  = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// anchors returns the fragments a Markdown renderer such as GitHub's gives
// the headings of md: lower case, punctuation dropped, spaces as hyphens, a
// repeated one numbered.
func anchors(md string) []string {
	md = regexp.MustCompile("(?s)```.*?```").ReplaceAllString(md, "")
	seen := map[string]int{}
	var out []string
	for _, m := range headingRe.FindAllStringSubmatch(md, -1) {
		slug := strings.ReplaceAll(slugDrop.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
		if n := seen[slug]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", slug, n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out
}

var (
	testNameRe = regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*)`")
	testFuncRe = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*)\(`)
)

// TestNamedTestsExist checks that every test, fuzz target and benchmark the
// documentation names (as `TestX`, `FuzzX` or `BenchmarkX`) is defined, in a
// _test.go file of any module of the repository or in a snippet.
func TestNamedTestsExist(t *testing.T) {
	root := repoRoot(t)
	defined := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFuncRe.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range allSnippets(t, root) {
		for _, m := range testFuncRe.FindAllStringSubmatch(s.code, -1) {
			defined[m[1]] = true
		}
	}
	for _, f := range markdownFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range testNameRe.FindAllStringSubmatch(string(data), -1) {
			if !defined[m[1]] {
				t.Errorf("%s names %s, which no test file defines", f, m[1])
			}
		}
	}
}
