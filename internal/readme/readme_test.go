package readme

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	prefactor "github.com/prefactor-sdk/prefactor-go"
	"github.com/prefactor-sdk/prefactor-go/prefactortest"
)

// root is the module's root directory, where README.md lives.
const root = "../.."

// block is a fenced code block of a Markdown file.
type block struct {
	file string // relative to root
	line int    // of the opening fence, one-based
	lang string
	code string
}

func (b block) String() string { return b.file + ":" + strconv.Itoa(b.line) }

// complete reports whether b is a whole program.
func (b block) complete() bool {
	return b.lang == "go" && strings.HasPrefix(strings.TrimSpace(b.code), "package main")
}

// blocks returns the fenced code blocks of the Markdown file name.
func blocks(t *testing.T, name string) []block {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	var cur *block
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{file: name, line: n, lang: strings.TrimPrefix(line, "```")}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s: the code block opened at line %d never closes", name, cur.line)
	}
	return out
}

// documents returns README.md and the files under docs/, relative to root.
func documents(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, d := range docs {
		out = append(out, filepath.Join("docs", filepath.Base(d)))
	}
	return out
}

func TestReadmeShape(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n >= 350 {
		t.Errorf("the README has %d lines, want under 350: internals belong under docs/", n)
	}
	var first *block
	for _, b := range blocks(t, "README.md") {
		if b.lang == "go" {
			first = &b
			break
		}
	}
	if first == nil || !first.complete() || first.line >= 60 {
		t.Errorf("the README's first Go block is %v; want a complete program before line 60", first)
	}
	for _, cmd := range []string{"go run ./examples/list-tokens", "go test ./..."} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cmd) + `( |$)`).Match(data) {
			t.Errorf("the README lacks the command %q at the start of a line", cmd)
		}
	}
}

// slugs returns the anchors of the Markdown file name's headings, as
// GitHub makes them: lower case, punctuation dropped, spaces as hyphens.
func slugs(t *testing.T, name string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if inCode || !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		slug := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				return unicode.ToLower(r)
			}
			return -1
		}, title)
		out[slug] = true
	}
	return out
}

// Relative links point at files that exist, and at headings that exist in
// Markdown files.
func TestLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, name := range append(documents(t), "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllSubmatch(data, -1) {
			target := string(m[1])
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			if file == "" {
				file = name
			} else {
				file = filepath.Join(filepath.Dir(name), file)
			}
			if _, err := os.Stat(filepath.Join(root, file)); err != nil {
				t.Errorf("%s links to %s, which does not exist", name, target)
				continue
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !slugs(t, file)[anchor] {
				t.Errorf("%s links to %s, a heading %s does not have", name, target, file)
			}
		}
	}
}

// goCommand returns the go command that runs this test.
func goCommand(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the README's programs: %v", err)
	}
	return path
}

// Every complete program builds and runs against the fake.
func TestCompleteProgramsRun(t *testing.T) {
	modRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	replace := map[string]string{}
	type program struct {
		block
		pkg, exe string
	}
	var programs []program
	for _, name := range documents(t) {
		for _, b := range blocks(t, name) {
			if !b.complete() {
				continue
			}
			// Each program is a package of its own under this directory,
			// which exists only in the overlay.
			n := strconv.Itoa(len(programs))
			src := filepath.Join(tmp, "program"+n+".go")
			if err := os.WriteFile(src, []byte(b.code), 0o600); err != nil {
				t.Fatal(err)
			}
			pkg := "./internal/readme/program" + n
			replace[filepath.Join(modRoot, pkg, "main.go")] = src
			programs = append(programs, program{block: b, pkg: pkg, exe: filepath.Join(tmp, "program"+n)})
		}
	}
	if len(programs) == 0 {
		t.Fatal("no complete program in the README")
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		t.Fatal(err)
	}

	srv := prefactortest.NewServer(t, prefactortest.FakeTokens(30)...)
	outputs := make([]string, len(programs))
	for i, p := range programs {
		build := exec.Command(goCommand(t), "build", "-overlay", overlayFile, "-o", p.exe, p.pkg)
		build.Dir = modRoot
		if out, err := build.CombinedOutput(); err != nil {
			t.Errorf("%s does not build: %v\n%s", p.block, err, out)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		run := exec.CommandContext(ctx, p.exe)
		run.Env = append(os.Environ(), "PREFACTOR_API_TOKEN="+prefactortest.Token, "PREFACTOR_API_URL="+srv.URL())
		var stdout, stderr bytes.Buffer
		run.Stdout, run.Stderr = &stdout, &stderr
		err := run.Run()
		cancel()
		if err != nil || stdout.Len() == 0 {
			t.Errorf("%s against the fake: %v, stdout %q, stderr %q; want it to succeed and print", p.block, err, stdout.String(), stderr.String())
		}
		outputs[i] = stdout.String()
	}

	// The quick start, the README's first program, lists every token of
	// the caller's account, one a line.
	page, err := srv.Client().APITokens.List(context.Background(), &prefactor.ListAPITokensOptions{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(outputs[0]), "\n")
	if len(lines) != len(page.Items) {
		t.Errorf("%s printed %d lines, want one for each of the %d tokens", programs[0].block, len(lines), len(page.Items))
	}
	for i, tok := range page.Items {
		if i < len(lines) && !strings.HasPrefix(lines[i], tok.ID+" ") {
			t.Errorf("%s line %d is %q, want token %s", programs[0].block, i+1, lines[i], tok.ID)
		}
	}
}

// fragment is a Go fragment's tokens, comments aside.
type fragment []string

// tokens scans src into its tokens, without comments; automatic and
// written semicolons are the same token.
func tokens(src []byte) fragment {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(src)), src, nil, 0)
	var out fragment
	for {
		_, tok, lit := s.Scan()
		switch {
		case tok == token.EOF:
			return out
		case tok == token.SEMICOLON:
			out = append(out, ";")
		case lit != "":
			out = append(out, lit)
		default:
			out = append(out, tok.String())
		}
	}
}

// in reports whether f appears, token for token, in g.
func (f fragment) in(g fragment) bool {
	for i := 0; i+len(f) <= len(g); i++ {
		if strings.Join(g[i:i+len(f)], "\x00") == strings.Join(f, "\x00") {
			return true
		}
	}
	return false
}

// runnableFunc is the body of a function go test runs, or a helper one of
// those calls, and where it is.
type runnableFunc struct {
	where string
	body  fragment
}

// runnableFuncs returns the functions of the module's _test.go files (this
// package's aside) that go test runs: Examples with an Output comment,
// Tests, and the helpers they call in the same file.
func runnableFuncs(t *testing.T) []runnableFunc {
	t.Helper()
	var out []runnableFunc
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")):
			return filepath.SkipDir // fuzz corpora, .git, .ci
		case d.IsDir() && path == filepath.Join(root, "internal", "readme"):
			return filepath.SkipDir // this test would be its own twin
		case d.IsDir() || !strings.HasSuffix(path, "_test.go"):
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		runs, called := map[*ast.FuncDecl]bool{}, map[string]bool{}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Recv != nil {
				continue
			}
			name := fn.Name.Name
			if strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "Example") && hasOutput(f, fn) {
				runs[fn] = true
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok {
						called[id.Name] = true
					}
					return true
				})
			}
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !(runs[fn] || fn.Recv == nil && called[fn.Name.Name]) {
				continue
			}
			body := src[fset.Position(fn.Body.Lbrace).Offset : fset.Position(fn.Body.Rbrace).Offset+1]
			out = append(out, runnableFunc{where: path + ": " + fn.Name.Name, body: tokens(body)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hasOutput reports whether the Example fn has an Output comment, so go
// test runs it.
func hasOutput(f *ast.File, fn *ast.FuncDecl) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > fn.Body.Lbrace && cg.End() < fn.Body.Rbrace {
			text := strings.TrimSpace(cg.Text())
			if strings.HasPrefix(text, "Output:") || strings.HasPrefix(text, "Unordered output:") {
				return true
			}
		}
	}
	return false
}

// Every fragment is code that go test runs, so the README cannot drift
// from the SDK.
func TestFragmentsHaveTwins(t *testing.T) {
	funcs := runnableFuncs(t)
	n := 0
	for _, name := range documents(t) {
		for _, b := range blocks(t, name) {
			if b.lang != "go" || b.complete() {
				continue
			}
			n++
			f := tokens([]byte(b.code))
			if len(f) == 0 {
				t.Errorf("%s: an empty Go block", b)
				continue
			}
			twin := ""
			for _, fn := range funcs {
				if f.in(fn.body) {
					twin = fn.where
					break
				}
			}
			if twin == "" {
				t.Errorf("%s: no Example, Test or helper of one holds this fragment:\n%s", b, b.code)
			} else {
				t.Logf("%s: %s", b, twin)
			}
		}
	}
	if n == 0 {
		t.Error("no Go fragment found: the block parser is broken")
	}
}
