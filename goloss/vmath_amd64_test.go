//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"math/rand/v2"
	"testing"

	"simd/archsimd"
)

// ulps returns the distance between got and want in units of the last place
// of want (0 when both are the same NaN or Inf).
func ulps(got, want float64) float64 {
	if got == want || math.IsNaN(got) && math.IsNaN(want) {
		return 0
	}
	if math.IsInf(want, 0) || math.IsNaN(want) || math.IsNaN(got) {
		return math.Inf(1)
	}
	ulp := math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)
	return math.Abs(got-want) / ulp
}

// The vector functions over slices, one function per instruction set and
// never inlined: a function that held AVX-512 and AVX2 code would let the
// compiler hoist an AVX-512 instruction into the path an AVX2-only CPU runs.

func vectorLog(kernel string, x []float64) []float64 {
	out := make([]float64, len(x))
	if kernel == KernelAVX512 {
		log512Slice(out, x)
	} else {
		log256Slice(out, x)
	}
	return out
}

//go:noinline
func log512Slice(out, x []float64) {
	for i := 0; i+8 <= len(x); i += 8 {
		store512F64(out[i:], log512(load512F64(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func log256Slice(out, x []float64) {
	for i := 0; i+4 <= len(x); i += 4 {
		store256F64(out[i:], log256(load256F64(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func logCore512F32Slice(out, x []float32) {
	for i := 0; i+8 <= len(x); i += 8 {
		store512F32(out[i:], logCore512(load512F32(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func logCore256F32Slice(out, x []float32) {
	for i := 0; i+4 <= len(x); i += 4 {
		store256F32(out[i:], logCore256(load256F32(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func exp512Slice(out, x []float64) {
	for i := 0; i+8 <= len(x); i += 8 {
		store512F64(out[i:], exp512(load512F64(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func exp256Slice(out, x []float64) {
	for i := 0; i+4 <= len(x); i += 4 {
		store256F64(out[i:], exp256(load256F64(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func log1p512Slice(out, x []float64) {
	for i := 0; i+8 <= len(x); i += 8 {
		store512F64(out[i:], log1p512(load512F64(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

//go:noinline
func log1p256Slice(out, x []float64) {
	for i := 0; i+4 <= len(x); i += 4 {
		store256F64(out[i:], log1p256(load256F64(x[i:])))
	}
	archsimd.ClearAVXUpperBits()
}

// TestVectorLog64 measures log512 and log256 against math.Log on random
// float64s over the whole range, subnormals and special values included.
func TestVectorLog64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := []float64{0, math.Copysign(0, -1), -1, math.Inf(1), math.Inf(-1), math.NaN(), 1, 2, 0.5,
		math.SmallestNonzeroFloat64, 0x1p-1030, math.MaxFloat64, 1e-8, 1e-7, 1 - 1e-7}
	for range 1 << 20 {
		x = append(x, math.Float64frombits(rng.Uint64()&^(1<<63)), rng.Float64(), 1+(rng.Float64()-0.5)*1e-3)
	}
	for len(x)%8 != 0 {
		x = append(x, 1)
	}
	for _, kernel := range vectorKernels() {
		got := vectorLog(kernel, x)
		worst := 0.0
		for i, v := range x {
			want := math.Log(v)
			if v > 0 && v < 0x1p-1022 {
				// math.Log on amd64 is wrong for subnormals (it gives
				// -709.09 for 5e-324); scale them first.
				want = math.Log(v*0x1p54) - 54*math.Ln2
			}
			u := ulps(got[i], want)
			if u > 1 {
				t.Errorf("%s: log(%v) = %v, want %v (%.2f ulp)", kernel, v, got[i], want, u)
			}
			worst = max(worst, u)
		}
		t.Logf("%s: float64 log within %.3f ulp of math.Log on %d values", kernel, worst, len(x))
	}
}

// TestVectorLog32 checks the log of float32 values (float64 lanes, rounded
// once to float32) against math.Log rounded to float32, for every float32 in
// [1e-8, 1] (a stride through them with -short).
func TestVectorLog32(t *testing.T) {
	lo, hi := math.Float32bits(1e-8), math.Float32bits(1)
	stride := uint32(1)
	if testing.Short() {
		stride = 97
	}
	buf := make([]float32, 0, 1<<16)
	out := make([]float32, 1<<16)
	for _, kernel := range vectorKernels() {
		worst, count, off := 0.0, 0, 0
		check := func() {
			if kernel == KernelAVX512 {
				logCore512F32Slice(out, buf)
			} else {
				logCore256F32Slice(out, buf)
			}
			for i, v := range buf {
				want := float32(math.Log(float64(v)))
				if out[i] != want {
					off++
					d := math.Abs(float64(math.Float32bits(out[i])) - float64(math.Float32bits(want)))
					if d > 1 {
						t.Fatalf("%s: log(%v) = %v, want %v", kernel, v, out[i], want)
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
		for len(buf)%8 != 0 {
			buf = append(buf, 1)
		}
		check()
		t.Logf("%s: float32 log within %v ulp of math.Log rounded on %d float32s in [1e-8, 1]; %d differ", kernel, worst, count, off)
	}
}

// TestVectorExp measures exp512 and exp256 against math.Exp. (Near its
// overflow bound math.Exp on amd64 gives +Inf early, e.g. for 709.7, so the
// test stays below it.)
func TestVectorExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := []float64{0, 1, -1, 709.79, -745.1, -745.2, -740, -708.5, math.Inf(1), math.Inf(-1), math.NaN()}
	for range 1 << 20 {
		x = append(x, (rng.Float64()-0.9)*800, (rng.Float64()-0.5)*2)
	}
	for len(x)%8 != 0 {
		x = append(x, 0)
	}
	for _, kernel := range vectorKernels() {
		got := make([]float64, len(x))
		if kernel == KernelAVX512 {
			exp512Slice(got, x)
		} else {
			exp256Slice(got, x)
		}
		worst := 0.0
		for i, v := range x {
			want := math.Exp(v)
			if want != 0 && want < 0x1p-1022 {
				// Subnormal: compare to an ulp of the smallest normal.
				if math.Abs(got[i]-want) > 0x1p-1074 {
					t.Errorf("%s: exp(%v) = %v, want %v", kernel, v, got[i], want)
				}
				continue
			}
			u := ulps(got[i], want)
			if u > 2 {
				t.Errorf("%s: exp(%v) = %v, want %v (%.2f ulp)", kernel, v, got[i], want, u)
			}
			worst = max(worst, u)
		}
		t.Logf("%s: exp within %.3f ulp of math.Exp on %d values", kernel, worst, len(x))
	}
}

// TestVectorLog1p measures log1p512 and log1p256 against math.Log1p on
// [0, 1], where the logits kernels use them (log1p(exp(-|z|))): every
// 2^-20 step, random values, values just above 0 down to the smallest
// subnormal, and random values up to 2^52 (the stated domain).
func TestVectorLog1p(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := []float64{0, 1, 0x1p-1074, 0x1p-1022, 0x1p-53, 0x1p-52, math.Sqrt2 - 1, 0x1p52, math.NaN()}
	for i := 0; i <= 1<<20; i++ {
		x = append(x, float64(i)*0x1p-20)
	}
	for range 1 << 18 {
		x = append(x, rng.Float64(), math.Ldexp(rng.Float64(), -rng.IntN(1074)), math.Ldexp(rng.Float64(), rng.IntN(53)))
	}
	for len(x)%8 != 0 {
		x = append(x, 0)
	}
	for _, kernel := range vectorKernels() {
		got := make([]float64, len(x))
		if kernel == KernelAVX512 {
			log1p512Slice(got, x)
		} else {
			log1p256Slice(got, x)
		}
		worst, worstUnit := 0.0, 0.0
		for i, v := range x {
			want := math.Log1p(v)
			u := ulps(got[i], want)
			if u > 1 {
				t.Errorf("%s: log1p(%v) = %v, want %v (%.2f ulp)", kernel, v, got[i], want, u)
			}
			worst = max(worst, u)
			if v <= 1 {
				worstUnit = max(worstUnit, u)
			}
		}
		t.Logf("%s: log1p within %.3f ulp of math.Log1p on %d values (%.3f ulp on [0, 1])", kernel, worst, len(x), worstUnit)
	}
}
