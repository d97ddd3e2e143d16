package ssecheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needTools skips the test unless it runs on amd64 with objdump available,
// and returns the go command to build with.
func needTools(t *testing.T) string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("skipping: GOARCH is %s, ssecheck checks amd64 code and needs an amd64 objdump", runtime.GOARCH)
	}
	if _, err := exec.LookPath(Objdump); err != nil {
		t.Skipf("skipping: %s not found in PATH (install binutils): %v", Objdump, err)
	}
	// go test puts $GOROOT/bin first in PATH, so this is the go command that
	// runs the test.
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "go command")
	return goCmd
}

// envWithout returns the environment without the given variables.
func envWithout(names ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}

// run runs the go command in dir with env and fails the test with its output
// on error.
func runGo(t *testing.T, goCmd, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
}

// funcNamed finds a function by its Go name: assembly (ABI0) functions carry
// an ".abi0" suffix in the symbol table.
func funcNamed(funcs []Func, name string) *Func {
	for i := range funcs {
		if funcs[i].Name == name || funcs[i].Name == name+".abi0" {
			return &funcs[i]
		}
	}
	return nil
}

// TestInject builds testdata/inject, three AVX2 loops in Go assembly, and
// checks that ssecheck finds exactly the sites put there on purpose: the
// analysis works on real machine code as the Go toolchain and objdump
// produce it, not only on hand-written listings. The code is only
// disassembled, never run, so any amd64 machine will do.
func TestInject(t *testing.T) {
	goCmd := needTools(t)
	bin := filepath.Join(t.TempDir(), "inject")
	// A plain build of a tiny program: none of the caller's GOFLAGS or
	// GOEXPERIMENT, always a static linux/amd64 ELF.
	env := append(envWithout("GOFLAGS", "GOEXPERIMENT", "GOOS", "GOARCH", "CGO_ENABLED"),
		"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	runGo(t, goCmd, ".", env, "build", "-buildvcs=false", "-o", bin, "./testdata/inject")

	funcs, err := DisassembleFile(bin)
	require.NoError(t, err)
	sites := Check(funcs)

	byFunc := map[string][]Site{}
	for _, s := range sites {
		byFunc[strings.TrimSuffix(s.Func, ".abi0")] = append(byFunc[strings.TrimSuffix(s.Func, ".abi0")], s)
	}
	logSites := func(name string) {
		for _, s := range byFunc[name] {
			t.Logf("  %s", s)
		}
	}

	// 1. sseLeak: exactly one site, the MOVQ CX, X5 inside the loop.
	f := funcNamed(funcs, "main.sseLeak")
	require.NotNil(t, f, "main.sseLeak not in the binary")
	var movq *Insn
	for i := range f.Insns {
		if in := &f.Insns[i]; in.Mnemonic == "movq" && in.Operands == "%rcx,%xmm5" {
			movq = in
		}
	}
	require.NotNil(t, movq, "no movq %%rcx,%%xmm5 in main.sseLeak")
	if assert.Len(t, byFunc["main.sseLeak"], 1, "main.sseLeak") {
		s := byFunc["main.sseLeak"][0]
		assert.Equal(t, KindSSE, s.Kind)
		assert.Equal(t, movq.Addr, s.Addr, "site should be the injected movq")
		assert.Contains(t, s.DirtiedBy, "%ymm", "dirtied by a ymm instruction")
		assert.Greater(t, s.DirtiedAt, s.Addr, "the movq comes before the ymm write: found through the back edge")
		t.Logf("found: %s", s)
	} else {
		logSites("main.sseLeak")
	}

	// 2. vexClean: VEX forms and VZEROUPPER before RET: nothing.
	require.NotNil(t, funcNamed(funcs, "main.vexClean"), "main.vexClean not in the binary")
	if !assert.Empty(t, byFunc["main.vexClean"], "main.vexClean") {
		logSites("main.vexClean")
	}

	// 3. noVzeroupper: exactly one site, its RET.
	f = funcNamed(funcs, "main.noVzeroupper")
	require.NotNil(t, f, "main.noVzeroupper not in the binary")
	var ret *Insn
	for i := range f.Insns {
		if f.Insns[i].IsRet() {
			ret = &f.Insns[i]
		}
	}
	require.NotNil(t, ret, "no ret in main.noVzeroupper")
	if assert.Len(t, byFunc["main.noVzeroupper"], 1, "main.noVzeroupper") {
		s := byFunc["main.noVzeroupper"][0]
		assert.Equal(t, KindRet, s.Kind)
		assert.Equal(t, ret.Addr, s.Addr)
		t.Logf("found: %s", s)
	} else {
		logSites("main.noVzeroupper")
	}
}
