//go:build !noasm

package goloss

import (
	"math"
	"slices"
	"testing"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
	"github.com/gofocal/gofocal/goloss/internal/avx512"
)

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

// TestAsmLogF32 holds the float32 logs of the assembly kernels (the same
// instructions in avx2.LogF32 and avx512.LogF32 as in their seed and binary
// loops, and in avx2.LogLeanF32 as in the asymmetric kernels' second log)
// to 1 ulp of math.Log rounded to float32, for every float32 in
// [1e-8, 1], the range the kernels take it on (a stride of 97 through them
// with -short), on every vector kernel this CPU has.
func TestAsmLogF32(t *testing.T) {
	requireVectorKernels(t)
	logs := map[string]func(x, out []float32){KernelAVX2: avx2.LogF32, KernelAVX512: avx512.LogF32,
		"avx2 lean": avx2.LogLeanF32}
	lo, hi := math.Float32bits(1e-8), math.Float32bits(1)
	stride := uint32(1)
	if testing.Short() {
		stride = 97
	}
	kernels := vectorKernels()
	if slices.Contains(kernels, KernelAVX2) {
		kernels = append(kernels, "avx2 lean")
	}
	for _, kernel := range kernels {
		log := logs[kernel]
		const chunk = 1 << 16
		buf, out := make([]float32, 0, chunk), make([]float32, chunk)
		worst, count, off := 0.0, 0, 0
		check := func() {
			for len(buf)%16 != 0 {
				buf = append(buf, 1)
			}
			log(buf, out)
			for i, v := range buf {
				want := float32(math.Log(float64(v)))
				d := ulps32(out[i], want)
				if d > 1 {
					t.Fatalf("%s: log(%v) = %v, want %v (%v ulp)", kernel, v, out[i], want, d)
				}
				if d > 0 {
					off++
				}
				worst = max(worst, d)
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
		t.Logf("%s: float32 log within %v ulp of math.Log rounded on %d float32s in [1e-8, 1]; %d differ", kernel, worst, count, off)
	}
}

// TestAsmLog1pF32 holds avx2.Log1pF32, the log1p(e^-|z|) of the AVX2
// logits kernels (log1pUnit8), to 1 ulp of math.Log1p rounded to float32
// for every float32 in [1e-8, 1] and every 97th below (a stride of 97
// through all with -short), and to NaN for NaN.
func TestAsmLog1pF32(t *testing.T) {
	if !slices.Contains(vectorKernels(), KernelAVX2) {
		t.Skipf("the avx2 kernel is not in this build or on this CPU (have %v)", Kernels())
	}
	stride := uint32(1)
	if testing.Short() {
		stride = 97
	}
	const chunk = 1 << 16
	buf, out := make([]float32, 0, chunk), make([]float32, chunk)
	worst, count, off := 0.0, 0, 0
	check := func() {
		for len(buf)%8 != 0 {
			buf = append(buf, 0)
		}
		avx2.Log1pF32(buf, out)
		for i, v := range buf {
			want := float32(math.Log1p(float64(v)))
			d := ulps32(out[i], want)
			if d > 1 {
				t.Fatalf("log1p(%v) = %v, want %v (%v ulp)", v, out[i], want, d)
			}
			if d > 0 {
				off++
			}
			worst = max(worst, d)
		}
		count += len(buf)
		buf = buf[:0]
	}
	tiny := math.Float32bits(1e-8) // below it log1p(x) rounds to x: a stride of 97 there
	for b := uint32(0); b <= math.Float32bits(1); b += stride {
		if b < tiny && stride == 1 {
			b += 96
		}
		buf = append(buf, math.Float32frombits(b))
		if len(buf) == cap(buf) {
			check()
		}
	}
	check()
	nan := make([]float32, 8)
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	avx2.Log1pF32(nan, out)
	for i := range nan {
		if out[i] == out[i] {
			t.Fatalf("log1p(NaN) = %v, want NaN", out[i])
		}
	}
	t.Logf("avx2: float32 log1p within %v ulp of math.Log1p rounded on %d float32s in [0, 1]; %d differ", worst, count, off)
}

// TestAsmExpF32 holds avx2.ExpF32, the e^x of the AVX2 kernels (exp8), to
// 1 ulp of math.Exp rounded to float32 on every 7th float32 in [-87, 88]
// (every 97th with -short), where e^x is normal, and to 1 ulp or 2^-149 in
// [-104, -87], where it is subnormal; to 0 below -104 (the kernels' clamp),
// +Inf above the float32 range and NaN for NaN.
func TestAsmExpF32(t *testing.T) {
	if !slices.Contains(vectorKernels(), KernelAVX2) {
		t.Skipf("the avx2 kernel is not in this build or on this CPU (have %v)", Kernels())
	}
	stride := uint32(7)
	if testing.Short() {
		stride = 97
	}
	const chunk = 1 << 16
	buf, out := make([]float32, 0, chunk), make([]float32, chunk)
	worst, count := 0.0, 0
	check := func() {
		for len(buf)%8 != 0 {
			buf = append(buf, 0)
		}
		avx2.ExpF32(buf, out)
		for i, v := range buf {
			want := float32(math.Exp(float64(v)))
			d := ulps32(out[i], want)
			if d > 1 && !(want < 0x1p-126 && math.Abs(float64(out[i]-want)) <= 0x1p-149) {
				t.Fatalf("exp(%v) = %v, want %v (%v ulp)", v, out[i], want, d)
			}
			if want >= 0x1p-126 {
				worst = max(worst, d)
			}
		}
		count += len(buf)
		buf = buf[:0]
	}
	for _, r := range [][2]float32{{0, 88}, {-104, 0}} {
		lo, hi := r[0], r[1]
		if lo < 0 { // negative floats: their bits grow with magnitude
			lo, hi = -hi, -lo
		}
		for b := math.Float32bits(lo); b <= math.Float32bits(hi); b += stride {
			v := math.Float32frombits(b)
			if r[0] < 0 {
				v = -v
			}
			buf = append(buf, v)
			if len(buf) == cap(buf) {
				check()
			}
		}
	}
	check()
	special := []float32{-105, -1e30, float32(math.Inf(-1)), 89, 1e30, float32(math.Inf(1)), float32(math.NaN()), 0}
	avx2.ExpF32(special, out)
	for i, want := range []float32{0, 0, 0, float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(1)), float32(math.NaN()), 1} {
		if d := ulps32(out[i], want); d != 0 {
			t.Errorf("exp(%v) = %v, want %v", special[i], out[i], want)
		}
	}
	t.Logf("avx2: float32 exp within %v ulp of math.Exp rounded where normal, on %d float32s in [-104, 88]", worst, count)
}

// TestAsmUnitRange holds the quick validation pass (avx2.UnitRangeF32 and
// UnitRangeF64, and their Or forms, which also take an ignore value) to
// its reference loop on every length up to 40 with one bad value at every
// position, NaN (accepted) and the infinities (rejected: the caller looks
// closer).
func TestAsmUnitRange(t *testing.T) {
	if len(vectorKernels()) == 0 {
		t.Skipf("no vector kernel in this build or on this CPU (have %v)", Kernels())
	}
	ref := func(s []float64) bool {
		for _, v := range s {
			if v < 0 || v > 1 {
				return false
			}
		}
		return true
	}
	refOr := func(s []float64, v float64) bool {
		for _, x := range s {
			if (x < 0 || x > 1) && x != v {
				return false
			}
		}
		return true
	}
	for n := 0; n <= 40; n++ {
		base := make([]float64, n)
		for i := range base {
			base[i] = float64(i%7) / 6
		}
		cases := [][]float64{base}
		for at := 0; at < n; at++ {
			for _, bad := range []float64{-1e-30, 1 + 1e-7, math.NaN(), math.Inf(1), math.Inf(-1), 2} {
				c := append([]float64(nil), base...)
				c[at] = bad
				cases = append(cases, c)
			}
		}
		for _, c := range cases {
			if got, want := avx2.UnitRangeF64(c), ref(c); got != want {
				t.Fatalf("UnitRangeF64(%v) = %v, want %v", c, got, want)
			}
			c32 := toF32(c)
			if got, want := avx2.UnitRangeF32(c32), ref(toF64(c32)); got != want {
				t.Fatalf("UnitRangeF32(%v) = %v, want %v", c32, got, want)
			}
			// The Or forms also take the ignore value; NaN takes nothing.
			for _, v := range []float64{-1, 2, math.Inf(1), math.NaN()} {
				if got, want := avx2.UnitRangeOrF64(c, v), refOr(c, v); got != want {
					t.Fatalf("UnitRangeOrF64(%v, %v) = %v, want %v", c, v, got, want)
				}
				if got, want := avx2.UnitRangeOrF32(c32, float32(v)), refOr(toF64(c32), v); got != want {
					t.Fatalf("UnitRangeOrF32(%v, %v) = %v, want %v", c32, v, got, want)
				}
			}
		}
	}
}
