//go:build !noasm

package goloss

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The instruction-set extensions a generated function may need, by package:
// what the CPU check that guards the package's kernels guarantees
// (goloss/internal/cpu; activeKernel is never a kernel the CPU lacks).
var (
	isaBaseline = []string{"SSE", "SSE2", "MMX+"} // every x86-64 CPU (MMX+: PREFETCH)
	// cpu.X86.AVX2FMA: AVX2, FMA3, BMI2 and POPCNT.
	isaAVX2 = slices.Concat(isaBaseline, []string{"AVX", "AVX2", "FMA3", "BMI2", "POPCNT"})
	// cpu.X86.AVX512: the above and AVX-512 F, DQ, CD, BW and VL.
	isaAVX512 = slices.Concat(isaAVX2, []string{"AVX512F", "AVX512DQ", "AVX512CD", "AVX512BW", "AVX512VL"})
)

// TestKernelISAs holds every function of the generated assembly to the
// extensions its package's CPU check guarantees, as avo's "// Requires:"
// line above each TEXT lists them. A CPU with more (an AMD Zen 4 has
// AVX-512 VBMI, IFMA, BF16, VPOPCNTDQ, ...) would run an instruction of
// those without complaint, so the tests passing there would not show that
// an AVX-512 kernel runs on a Skylake-X; this test does.
func TestKernelISAs(t *testing.T) {
	for _, pkg := range []struct {
		dir     string
		allowed []string
	}{{"avx2", isaAVX2}, {"avx512", isaAVX512}} {
		files, err := filepath.Glob(filepath.Join("internal", pkg.dir, "*_amd64.s"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no assembly files: %v", pkg.dir, err)
		}
		funcs := 0
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n, bad := extensionsOutside(string(src), pkg.allowed)
			funcs += n
			for _, b := range bad {
				t.Errorf("%s: %s", f, b)
			}
		}
		if funcs < 10 {
			t.Errorf("%s: only %d functions with a Requires line", pkg.dir, funcs)
		}
		t.Logf("%s: %d functions within %v", pkg.dir, funcs, pkg.allowed)
	}
}

// TestExtensionsOutside checks extensionsOutside on a function that needs
// an extension outside the allowed ones and on one that does not.
func TestExtensionsOutside(t *testing.T) {
	src := "// func A()\n// Requires: AVX, AVX512F, AVX512VBMI\nTEXT ·A(SB), NOSPLIT, $0-0\n\tRET\n\n" +
		"// func B()\n// Requires: AVX, AVX512F\nTEXT ·B(SB), NOSPLIT, $0-0\n\tRET\n\n" +
		"// func C()\nTEXT ·C(SB), NOSPLIT, $0-0\n\tRET\n"
	n, bad := extensionsOutside(src, isaAVX512)
	if n != 2 || len(bad) != 1 || !strings.Contains(bad[0], "·A(SB)") || !strings.Contains(bad[0], "AVX512VBMI") {
		t.Fatalf("got %d functions with a Requires line and %q; want 2 and one naming ·A(SB) and AVX512VBMI", n, bad)
	}
	if _, bad := extensionsOutside(src, isaAVX2); len(bad) != 2 {
		t.Fatalf("against AVX2: got %q, want A and B", bad)
	}
}

// extensionsOutside returns the number of functions in the avo-generated
// assembly src that have a "// Requires:" line, and one message per
// function that needs an extension outside allowed.
func extensionsOutside(src string, allowed []string) (funcs int, bad []string) {
	var req []string
	for _, line := range strings.Split(src, "\n") {
		switch {
		case strings.HasPrefix(line, "// Requires: "):
			req = strings.Split(strings.TrimPrefix(line, "// Requires: "), ", ")
		case strings.HasPrefix(line, "TEXT "):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "TEXT "), ",")
			if req != nil {
				funcs++
			}
			var out []string
			for _, isa := range req {
				if !slices.Contains(allowed, isa) {
					out = append(out, isa)
				}
			}
			if len(out) > 0 {
				bad = append(bad, name+" needs "+strings.Join(out, ", ")+", which its package's CPU check does not guarantee")
			}
			req = nil
		}
	}
	return funcs, bad
}
