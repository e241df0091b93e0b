package docsnippets

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A snippet is one ```go block of a Markdown file.
type snippet struct {
	file     string // path relative to the repository root, slash-separated
	line     int    // line of the first line of code
	name     string // from the snippet comment; "" if none
	module   string // directory of the Go module it is built in; "." for the root
	preamble string // Go declarations from the snippet comment
	preLine  int    // line of the first preamble line
	code     string
}

func (s snippet) String() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

// dir is the name of the generated package's directory: the snippet's name,
// or its file and line.
func (s snippet) dir() string {
	if s.name != "" {
		return s.name
	}
	base := strings.TrimSuffix(filepath.Base(s.file), ".md")
	base = strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(base, "_"))
	return fmt.Sprintf("%s_%d", base, s.line)
}

var (
	fenceRe     = regexp.MustCompile("^\\s*(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
	directiveRe = regexp.MustCompile(`^\s*<!--\s*snippet\b(.*)$`)
	nameRe      = regexp.MustCompile(`\bname=([A-Za-z][A-Za-z0-9_]*)`)
	moduleRe    = regexp.MustCompile(`\bmodule=([A-Za-z0-9_./-]+)`)
)

// extract returns the ```go blocks of the Markdown file at root/rel.
func extract(root, rel string) ([]snippet, error) {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	var (
		out     []snippet
		pending *snippet // a snippet comment waiting for its block
		sc      = bufio.NewScanner(bytes.NewReader(data))
		n       int
	)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		n++
		return sc.Text(), true
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		if m := directiveRe.FindStringSubmatch(line); m != nil {
			s := &snippet{file: rel}
			if nm := nameRe.FindStringSubmatch(m[1]); nm != nil {
				s.name = nm[1]
			}
			if mm := moduleRe.FindStringSubmatch(m[1]); mm != nil {
				s.module = mm[1]
			}
			rest := m[1]
			var pre []string
			for !strings.Contains(rest, "-->") {
				l, ok := next()
				if !ok {
					return nil, fmt.Errorf("%s:%d: snippet comment not closed", rel, n)
				}
				if s.preLine == 0 {
					s.preLine = n
				}
				rest = l
				if !strings.Contains(l, "-->") {
					pre = append(pre, l)
				}
			}
			s.preamble = strings.Join(pre, "\n")
			pending = s
			continue
		}
		m := fenceRe.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) != "" {
				pending = nil
			}
			continue
		}
		fence, lang := m[1], m[2]
		start := n + 1
		var body []string
		closed := false
		for {
			l, ok := next()
			if !ok {
				break
			}
			if strings.HasPrefix(strings.TrimSpace(l), fence) {
				closed = true
				break
			}
			body = append(body, l)
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: code block not closed", rel, start-1)
		}
		if lang == "go" {
			s := snippet{file: rel}
			if pending != nil {
				s = *pending
			}
			if s.module == "" {
				s.module = "."
			}
			s.line = start
			s.code = strings.Join(body, "\n") + "\n"
			out = append(out, s)
		} else if pending != nil {
			return nil, fmt.Errorf("%s:%d: snippet comment before a %q block", rel, start-1, lang)
		}
		pending = nil
	}
	return out, sc.Err()
}

// knownImports maps the package names snippets use to their import paths.
var knownImports = map[string]string{
	"clientcredentials": "golang.org/x/oauth2/clientcredentials",
	"clock":             "github.com/benbjohnson/clock",
	"context":           "context",
	"crypto":            "crypto",
	"errors":            "errors",
	"fakeclock":         "github.com/tokenactor/tokenactor/fakeclock",
	"fmt":               "fmt",
	"hex":               "encoding/hex",
	"http":              "net/http",
	"httpauth":          "github.com/tokenactor/tokenactor/httpauth",
	"httptest":          "net/http/httptest",
	"io":                "io",
	"json":              "encoding/json",
	"log":               "log",
	"metric":            "go.opentelemetry.io/otel/metric", // module=otel
	"oauth2":            "golang.org/x/oauth2",
	"oauth2adapt":       "github.com/tokenactor/tokenactor/oauth2adapt",
	"oauthtest":         "github.com/tokenactor/tokenactor/oauthtest",
	"os":                "os",
	"redis":             "github.com/redis/go-redis/v9",
	"redisstore":        "github.com/tokenactor/tokenactor/store/redisstore",
	"sdkmetric":         "go.opentelemetry.io/otel/sdk/metric", // module=otel
	"signal":            "os/signal",
	"slog":              "log/slog",
	"store":             "github.com/tokenactor/tokenactor/store",
	"strategy":          "github.com/tokenactor/tokenactor/strategy",
	"strings":           "strings",
	"sync":              "sync",
	"synctest":          "testing/synctest",
	"testing":           "testing",
	"time":              "time",
	"tls":               "crypto/tls",
	"trace":             "go.opentelemetry.io/otel/trace", // module=otel
	"tokenactor":        "github.com/tokenactor/tokenactor",
	"tokenotel":         "github.com/tokenactor/tokenactor/otel", // module=otel
}

// imports returns the import specs of the known packages src names as
// "pkg.Name", sorted: a path, with the name before it where the path does
// not end in it.
func imports(src string) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	s.Init(file, []byte(src), nil, 0)
	seen := map[string]bool{}
	var prev string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.PERIOD && prev != "" {
			if path, ok := knownImports[prev]; ok {
				spec := strconv.Quote(path)
				if pathpkg.Base(path) != prev {
					spec = prev + " " + spec
				}
				seen[spec] = true
			}
		}
		prev = ""
		if tok == token.IDENT {
			prev = lit
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// isProgram reports whether code is a complete file: its first token is the
// package clause.
func isProgram(code string) bool {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(code)), []byte(code), nil, 0)
	_, tok, _ := s.Scan()
	return tok == token.PACKAGE
}

// source returns the Go file for s, with //line comments that point compiler
// errors at the Markdown file.
func source(s snippet) (string, error) {
	if isProgram(s.code) {
		if s.preamble != "" {
			return "", fmt.Errorf("%s: a complete program takes no declarations in its snippet comment", s)
		}
		return fmt.Sprintf("//line %s:%d\n%s", s.file, s.line, s.code), nil
	}
	var b strings.Builder
	b.WriteString("package snippet\n\n")
	decls := isDecls(s.preamble + "\n" + s.code)
	used := s.preamble + "\n" + s.code
	if !decls {
		used += "\ncontext.Context"
	}
	for _, p := range imports(used) {
		fmt.Fprintf(&b, "import %s\n", p)
	}
	if s.preamble != "" {
		fmt.Fprintf(&b, "\n//line %s:%d\n%s\n", s.file, s.preLine, s.preamble)
	}
	if decls {
		fmt.Fprintf(&b, "\n//line %s:%d\n%s", s.file, s.line, s.code)
		return b.String(), nil
	}
	b.WriteString("\nfunc snippet(ctx context.Context) error {\n")
	fmt.Fprintf(&b, "//line %s:%d\n%s", s.file, s.line, s.code)
	if !endsInReturn(s.code) {
		b.WriteString("\treturn nil\n")
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// isDecls reports whether src parses as top-level declarations.
func isDecls(src string) bool {
	_, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+src, parser.SkipObjectResolution)
	return err == nil
}

// endsInReturn reports whether the statements in body end with a return.
func endsInReturn(body string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc f() {\n"+body+"\n}", parser.SkipObjectResolution)
	if err != nil {
		return false // the build reports it
	}
	fn := f.Decls[0].(*ast.FuncDecl)
	if len(fn.Body.List) == 0 {
		return false
	}
	_, ok := fn.Body.List[len(fn.Body.List)-1].(*ast.ReturnStmt)
	return ok
}

// hasTests reports whether s declares a test function, func TestX(t
// *testing.T), to be run.
func hasTests(s snippet) bool {
	if isProgram(s.code) || !isDecls(s.preamble+"\n"+s.code) {
		return false
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+s.preamble+"\n"+s.code, parser.SkipObjectResolution)
	if err != nil {
		return false
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
			return true
		}
	}
	return false
}
