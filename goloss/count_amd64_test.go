//go:build !noasm

package goloss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
	"github.com/gofocal/gofocal/goloss/internal/cpu"
)

// TestCountEqualF32 holds avx2.CountEqualF32 (the count of unknown labels
// behind binaryRowScale32) to its loop, on slices of every length up to
// 40 at every offset of a buffer, for ignore values that occur, 0 (-0
// equals it), and NaN (which nothing equals).
func TestCountEqualF32(t *testing.T) {
	if !cpu.X86.AVX2FMA {
		t.Skip("this CPU has no AVX2 and FMA")
	}
	rng := rand.New(rand.NewPCG(41, 41))
	buf := make([]float32, 64)
	values := []float32{-1, 0, 0.5, 1, float32(math.Copysign(0, -1)), float32(math.NaN())}
	for i := range buf {
		buf[i] = values[rng.IntN(len(values))]
	}
	for _, v := range values {
		for lo := 0; lo < 8; lo++ {
			for n := 0; lo+n <= 48; n++ {
				s := buf[lo : lo+n]
				want := 0
				for _, x := range s {
					if x == v {
						want++
					}
				}
				if got := avx2.CountEqualF32(s, v); got != want {
					t.Errorf("CountEqualF32(buf[%d:%d], %v) = %d, want %d", lo, lo+n, v, got, want)
				}
			}
		}
	}
}
