//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"simd/archsimd"
)

func hasAVX512() bool { return slices.Contains(vectorKernels(), KernelAVX512) }

// ulps32 returns the distance in float32 steps between got and want (0 when
// both are NaN, +Inf when only one is).
func ulps32(got, want float32) float64 {
	if got == want || got != got && want != want {
		return 0
	}
	if got != got || want != want || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
		return math.Inf(1)
	}
	return math.Abs(float64(math.Float32bits(got)) - float64(math.Float32bits(want)))
}

// applyF32x16 runs f over x, 16 lanes at a time (len(x) a multiple of 16).
func applyF32x16(f func(archsimd.Float32x16) archsimd.Float32x16, x, out []float32) {
	for i := 0; i < len(x); i += 16 {
		f(archsimd.LoadFloat32x16Slice(x[i:])).StoreSlice(out[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// TestVectorLogF32x16 holds the float32-lane log to 1 ulp of math.Log
// rounded to float32 for every float32 in [1e-8, 1] (a stride through them
// with -short), the core (used on clipped values), the full log (used on
// y - p) and the assembly kernels' log (logF32AVX512), and checks the full log's special cases and its range
// outside [1e-8, 1].
func TestVectorLogF32x16(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512")
	}
	lo, hi := math.Float32bits(1e-8), math.Float32bits(1)
	stride := uint32(1)
	if testing.Short() {
		stride = 97
	}
	const chunk = 1 << 16
	buf := make([]float32, 0, chunk)
	core, full, asm := make([]float32, chunk), make([]float32, chunk), make([]float32, chunk)
	worst, count, off := 0.0, 0, 0
	check := func() {
		for len(buf)%16 != 0 {
			buf = append(buf, 1)
		}
		applyF32x16(logCoreF32x16, buf, core)
		applyF32x16(logF32x16, buf, full)
		logF32AVX512(buf, asm) // the assembly kernels' log
		for i, v := range buf {
			want := float32(math.Log(float64(v)))
			for _, got := range []float32{core[i], full[i], asm[i]} {
				d := ulps32(got, want)
				if d > 1 {
					t.Fatalf("log(%v) = %v, want %v (%v ulp)", v, got, want, d)
				}
				if d > 0 {
					off++
				}
				worst = max(worst, d)
			}
		}
		count += len(buf)
		buf = buf[:0]
	}
	for b := lo; b <= hi; b += stride {
		buf = append(buf, math.Float32frombits(b))
		if len(buf) == cap(buf) {
			check()
		}
	}
	check()
	t.Logf("float32-lane log within %v ulp of math.Log rounded on %d float32s in [1e-8, 1]; %d results differ", worst, count, off)

	// The whole positive range (subnormals included) and the special cases.
	rng := rand.New(rand.NewPCG(12, 13))
	x := []float32{0, float32(math.Copysign(0, -1)), -1, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1, 2, 0.5, math.SmallestNonzeroFloat32, 0x1p-130, math.MaxFloat32}
	for range 1 << 18 {
		x = append(x, math.Float32frombits(rng.Uint32()&^(1<<31)))
	}
	for len(x)%16 != 0 {
		x = append(x, 1)
	}
	out := make([]float32, len(x))
	applyF32x16(logF32x16, x, out)
	worst = 0
	for i, v := range x {
		want := float32(math.Log(float64(v)))
		if d := ulps32(out[i], want); d > 2 {
			t.Errorf("log(%v) = %v, want %v (%v ulp)", v, out[i], want, d)
		} else {
			worst = max(worst, d)
		}
	}
	t.Logf("float32-lane log within %v ulp on %d random float32s", worst, len(x))
}

// TestVectorExpF32x16 holds the float32-lane exp to 2 ulp of math.Exp
// rounded to float32 on its normal range, and checks underflow, overflow
// and the special cases.
func TestVectorExpF32x16(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(14, 15))
	x := []float32{0, 1, -1, 88.7, 89, 100, -87.3, -103, -104, -110, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for range 1 << 20 {
		x = append(x, float32((rng.Float64()-0.8)*190), float32((rng.Float64()-0.5)*2))
	}
	for len(x)%16 != 0 {
		x = append(x, 0)
	}
	out := make([]float32, len(x))
	applyF32x16(expF32x16, x, out)
	worst := 0.0
	for i, v := range x {
		want := float32(math.Exp(float64(v)))
		if want < 0x1p-126 {
			if math.Abs(float64(out[i])-float64(want)) > 0x1p-149 {
				t.Errorf("exp(%v) = %v, want %v", v, out[i], want)
			}
			continue
		}
		d := ulps32(out[i], want)
		if d > 2 {
			t.Errorf("exp(%v) = %v, want %v (%v ulp)", v, out[i], want, d)
		}
		worst = max(worst, d)
	}
	t.Logf("float32-lane exp within %v ulp of math.Exp rounded on %d values", worst, len(x))
}
