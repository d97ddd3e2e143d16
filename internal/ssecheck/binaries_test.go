package ssecheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ourPrefix marks the functions TestBinaries fails on: our own code. Sites in
// other functions (Go runtime, standard library, testify, C start-up code)
// are reported but do not fail the test.
const ourPrefix = "github.com/gofocal/gofocal/"

// sitesFileEnv names an environment variable: if set, TestBinaries writes
// every site it finds, ours and others, to the file it names.
const sitesFileEnv = "SSECHECK_SITES_FILE"

// TestBinaries builds what we ship and test, the goloss test binary and
// libgoloss.so, exactly as the environment the test runs in would build them
// (a plain go build: the vector kernels are assembly and need no
// experiment flag), and fails listing every SSE/AVX transition site in our
// code. It also requires our vector kernels to be there (functions of ours
// that use ymm or zmm registers), so that it never passes on a build
// without them.
func TestBinaries(t *testing.T) {
	goCmd := needTools(t)

	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	require.NoError(t, err, "go env GOMOD")
	gomod := strings.TrimSpace(string(out))
	require.True(t, gomod != "" && gomod != os.DevNull, "not in a module: go env GOMOD = %q", gomod)
	root := filepath.Dir(gomod)
	t.Logf("module root %s, GOEXPERIMENT=%q, GOFLAGS=%q", root, os.Getenv("GOEXPERIMENT"), os.Getenv("GOFLAGS"))

	dir := t.TempDir()
	binaries := []struct {
		name string
		args func(out string) []string // the go command's arguments
	}{
		{"goloss.test", func(out string) []string { return []string{"test", "-c", "-o", out, "./goloss"} }},
		{"libgoloss.so", func(out string) []string { return []string{"build", "-buildmode=c-shared", "-o", out, "./cgo"} }},
	}

	var report strings.Builder
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			bin := filepath.Join(dir, b.name)
			runGo(t, goCmd, root, os.Environ(), b.args(bin)...)

			funcs, err := DisassembleFile(bin)
			require.NoError(t, err)
			sites := Check(funcs)

			var ours, others []Site
			for _, s := range sites {
				if strings.HasPrefix(s.Func, ourPrefix) {
					ours = append(ours, s)
				} else {
					others = append(others, s)
				}
			}
			var ourFuncs, otherFuncs []Func
			for _, f := range funcs {
				if strings.HasPrefix(f.Name, ourPrefix) {
					ourFuncs = append(ourFuncs, f)
				} else {
					otherFuncs = append(otherFuncs, f)
				}
			}
			all, our, other := Summarize(funcs, sites), Summarize(ourFuncs, ours), Summarize(otherFuncs, others)
			t.Logf("%s: all: %s", b.name, all)
			t.Logf("%s: ours: %s", b.name, our)
			t.Logf("%s: others: %s", b.name, other)

			fmt.Fprintf(&report, "== %s: %s\n== %s: ours (%s*): %s\n", b.name, all, b.name, ourPrefix, our)
			for _, s := range ours {
				fmt.Fprintf(&report, "%s: ours: %s\n", b.name, s)
			}
			fmt.Fprintf(&report, "== %s: others: %s\n", b.name, other)
			for _, s := range others {
				fmt.Fprintf(&report, "%s: other: %s\n", b.name, s)
			}

			// Others: counts per function, so we see whether the runtime or
			// libc has any.
			for _, line := range countsPerFunc(others) {
				t.Logf("%s: other (not failing): %s", b.name, line)
			}

			if len(ours) > 0 {
				var msg strings.Builder
				fmt.Fprintf(&msg, "%s: %d SSE/AVX transition sites in our code (%d functions):\n", b.name, len(ours), our.SiteFuncs)
				for _, line := range countsPerFunc(ours) {
					fmt.Fprintf(&msg, "  %s\n", line)
				}
				msg.WriteString("sites:\n")
				for _, s := range ours {
					fmt.Fprintf(&msg, "  %s\n", s)
				}
				t.Error(msg.String())
			}
			assert.NotZero(t, our.Funcs, "no functions of ours found in %s: wrong binary or stripped symbols?", b.name)
			assert.NotZero(t, our.WideFuncs, "no function of ours in %s uses ymm or zmm registers: the vector kernels are missing", b.name)
		})
	}

	if path := os.Getenv(sitesFileEnv); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(report.String()), 0o644))
		t.Logf("all sites written to %s", path)
	}
}

// countsPerFunc returns one line per function with sites: its name and its
// number of sites per kind, functions with most sites first.
func countsPerFunc(sites []Site) []string {
	type counts struct {
		name   string
		total  int
		byKind map[string]int
	}
	idx := map[string]*counts{}
	var list []*counts
	for _, s := range sites {
		c := idx[s.Func]
		if c == nil {
			c = &counts{name: s.Func, byKind: map[string]int{}}
			idx[s.Func] = c
			list = append(list, c)
		}
		c.total++
		kind := s.Kind
		if s.NoReturn {
			kind += "(noreturn)"
		}
		c.byKind[kind]++
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].total > list[j].total })
	lines := make([]string, len(list))
	for i, c := range list {
		kinds := make([]string, 0, len(c.byKind))
		for k, n := range c.byKind {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(kinds)
		lines[i] = fmt.Sprintf("%-70s %4d  %s", c.name, c.total, strings.Join(kinds, " "))
	}
	return lines
}
