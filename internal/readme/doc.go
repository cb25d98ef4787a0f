// Package readme holds no code: its test keeps the Go code of the README
// and of docs/ working.
//
// Every Go block that is a complete program (package main) is built and
// run against prefactortest's fake, with PREFACTOR_API_TOKEN and
// PREFACTOR_API_URL pointing at it. Every other Go block, a fragment, must
// appear token for token (comments aside) in a function of a _test.go file
// that go test runs: an Example with an Output comment, a Test, or a helper
// one of those calls in the same file. The test also holds the README to
// its shape (under 350 lines, a complete program as its first Go block
// before line 60, the two set-up commands), and the links of the project's
// Markdown files to files and headings that exist.
package readme
