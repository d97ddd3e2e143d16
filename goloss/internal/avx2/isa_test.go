package avx2

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestNoAVX512 holds the generated assembly of this package to AVX2: no
// register that only AVX-512 has (Y16-Y31, Z, K), no EVEX-only instruction
// (a .BCST or .Z form, the D/Q-suffixed logic ops, VRCP14, VFPCLASS,
// VPMOVM2*, KMOV and the like). avo allocates ymm registers from all 32 of
// AVX-512's, so a kernel with too many live values would otherwise compile
// into code that raises SIGILL on an AVX2-only CPU.
func TestNoAVX512(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files: %v", err)
	}
	bad := regexp.MustCompile(`\b(Y(1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b|_BCST|\.BCST|\.Z\b|\bVP(AND|ANDN|OR|XOR)[DQ]\b|\bVRCP14|\bVRSQRT14|\bVFPCLASS|\bVPMOVM2|\bK(MOV|AND|OR|TEST|UNPCK)|\bV(EXTRACT|INSERT)[FI](32X8|64X4|32X4|64X2)\b|\bVCVT(T)?P[SD]2U|\bVPERM[IT]2`)
	lines := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range regexp.MustCompile("\n").Split(string(b), -1) {
			lines++
			if m := bad.FindString(line); m != "" {
				t.Errorf("%s:%d: %q is not AVX2: %s", f, i+1, m, line)
			}
		}
	}
	t.Logf("%d files, %d lines of AVX2 assembly checked", len(files), lines)
}
