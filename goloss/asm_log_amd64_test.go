//go:build !noasm

package goloss

import (
	"iter"
	"math"
	"math/rand/v2"
	"os"
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

// ulpSweep runs fn over the float32s of values, in chunks padded to 16
// lanes with pad, and holds each result to 1 ulp of want rounded to
// float32 (or to near, where given and it accepts the result). It returns
// the largest distance in ulps, how many values ran and how many differed.
func ulpSweep(t *testing.T, name string, fn func(x, out []float32), want func(float64) float64, pad float32,
	values iter.Seq[float32], near func(got, want float32) bool) (worst float64, count, off int) {
	t.Helper()
	const chunk = 1 << 16
	buf, out := make([]float32, 0, chunk), make([]float32, chunk)
	check := func() {
		for len(buf)%16 != 0 {
			buf = append(buf, pad)
		}
		fn(buf, out)
		for i, v := range buf {
			w := float32(want(float64(v)))
			d := ulps32(out[i], w)
			if d > 1 && near != nil && near(out[i], w) {
				continue
			}
			if d > 1 {
				t.Fatalf("%s(%v) = %v, want %v (%v ulp)", name, v, out[i], w, d)
			}
			if d > 0 {
				off++
			}
			worst = max(worst, d)
		}
		count += len(buf)
		buf = buf[:0]
	}
	for v := range values {
		buf = append(buf, v)
		if len(buf) == cap(buf) {
			check()
		}
	}
	check()
	return worst, count, off
}

// float32Range yields the float32s from lo to hi (both >= 0), every
// stride-th one, and every tinyStride-th one below tiny.
func float32Range(lo, hi float32, stride uint32, tiny float32, tinyStride uint32) iter.Seq[float32] {
	return func(yield func(float32) bool) {
		for b := math.Float32bits(lo); b <= math.Float32bits(hi); {
			if !yield(math.Float32frombits(b)) {
				return
			}
			if b < math.Float32bits(tiny) {
				b += tinyStride
			} else {
				b += stride
			}
		}
	}
}

// sweepStride is 1 (every float32 of a range), 97 with -short, and 997
// under qemu (make test-cpus sets GOLOSS_UNDER_QEMU): there a sweep shows
// that the kernels' instructions run on that CPU, while their accuracy is
// held by the native runs, which execute the same instructions.
func sweepStride() uint32 {
	switch {
	case os.Getenv("GOLOSS_UNDER_QEMU") != "":
		return 997
	case testing.Short():
		return 97
	}
	return 1
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
	kernels := vectorKernels()
	if slices.Contains(kernels, KernelAVX2) {
		kernels = append(kernels, "avx2 lean")
	}
	for _, kernel := range kernels {
		worst, count, off := ulpSweep(t, kernel+": log", logs[kernel], math.Log, 1,
			float32Range(1e-8, 1, sweepStride(), 0, 1), nil)
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
	// Below 1e-8 log1p(x) rounds to x: a stride of 97 there.
	worst, count, off := ulpSweep(t, "log1p", avx2.Log1pF32, math.Log1p, 0,
		float32Range(0, 1, sweepStride(), 1e-8, max(97, sweepStride())), nil)
	nan, out := make([]float32, 8), make([]float32, 8)
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

// TestAsmExpF32 holds avx2.ExpF32, the e^x of the AVX2 kernels (vec.exp, _asmgen's vec_math.go), to
// 1 ulp of math.Exp rounded to float32 on every 7th float32 in [-104, 88]
// (every 97th with -short), or to 2^-149 where e^x is subnormal (below
// about -87); to 0 below -104 (the kernels' clamp), +Inf above the float32
// range and NaN for NaN.
func TestAsmExpF32(t *testing.T) {
	if !slices.Contains(vectorKernels(), KernelAVX2) {
		t.Skipf("the avx2 kernel is not in this build or on this CPU (have %v)", Kernels())
	}
	stride := max(7, sweepStride())
	subnormal := func(got, want float32) bool {
		return want < 0x1p-126 && math.Abs(float64(got-want)) <= 0x1p-149
	}
	negatives := func(yield func(float32) bool) { // -104 to 0
		for v := range float32Range(0, 104, stride, 0, 1) {
			if !yield(-v) {
				return
			}
		}
	}
	worst, count, _ := ulpSweep(t, "exp", avx2.ExpF32, math.Exp, 0, float32Range(0, 88, stride, 0, 1), subnormal)
	w, c, _ := ulpSweep(t, "exp", avx2.ExpF32, math.Exp, 0, negatives, subnormal)
	worst, count = max(worst, w), count+c
	special := []float32{-105, -1e30, float32(math.Inf(-1)), 89, 1e30, float32(math.Inf(1)), float32(math.NaN()), 0}
	out := make([]float32, len(special))
	avx2.ExpF32(special, out)
	for i, want := range []float32{0, 0, 0, float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(1)), float32(math.NaN()), 1} {
		if d := ulps32(out[i], want); d != 0 {
			t.Errorf("exp(%v) = %v, want %v", special[i], out[i], want)
		}
	}
	t.Logf("avx2: float32 exp within %v ulp of math.Exp rounded (2^-149 where subnormal), on %d float32s in [-104, 88]", worst, count)
}

// TestAsmUnitRange holds the quick validation pass (avx2.UnitRangeF32 and
// UnitRangeF64, and their Or forms, which also take an ignore value) to
// its reference loop on every length up to 72 (the float32 loop takes 32
// values at a time, then 8, then one) with one bad value at every
// position, alone and beside a NaN (which must not hide it), NaN and -0
// (accepted) and the infinities (rejected: the caller looks closer).
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
	for n := 0; n <= 72; n++ {
		base := make([]float64, n)
		for i := range base {
			base[i] = float64(i%7) / 6
		}
		cases := [][]float64{base}
		for at := 0; at < n; at++ {
			for _, bad := range []float64{-1e-30, 1 + 1e-7, math.NaN(), math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 2} {
				c := append([]float64(nil), base...)
				c[at] = bad
				cases = append(cases, c)
				if n > 1 {
					c = append([]float64(nil), c...)
					c[(at+1)%n] = math.NaN() // the next lane, or the next vector's first
					cases = append(cases, c)
				}
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

// seedWidth is one vector width of the float32 seed kernel's first two
// passes: its lanes, SeedSumF32, and SeedMasksF32 with masks of one uint8
// (AVX2) or uint16 (AVX-512) per vector, widened to uint16.
type seedWidth struct {
	kernel string
	lanes  int
	sum    func([]float32) (float64, float32, float32)
	masks  func(p []float32, kc *[14]uint32) (masks []uint16, inside, above int)
	allIn  func(cols int) []uint16
}

// seedWidths returns the widths of the vector kernels this CPU runs.
func seedWidths() []seedWidth {
	var ws []seedWidth
	for _, kernel := range vectorKernels() {
		switch kernel {
		case KernelAVX2:
			ws = append(ws, seedWidth{kernel, 8, avx2.SeedSumF32,
				func(p []float32, kc *[14]uint32) ([]uint16, int, int) {
					m := make([]uint8, (len(p)+7)/8)
					inside, above := avx2.SeedMasksF32(p, m, kc)
					return widen16(m), inside, above
				},
				func(cols int) []uint16 { return widen16(insideMasks[uint8](cols, 8)) }})
		case KernelAVX512:
			ws = append(ws, seedWidth{kernel, 16, avx512.SeedSumF32,
				func(p []float32, kc *[14]uint32) ([]uint16, int, int) {
					m := make([]uint16, (len(p)+15)/16)
					inside, above := avx512.SeedMasksF32(p, m, kc)
					return m, inside, above
				},
				insideMasks16})
		}
	}
	return ws
}

func widen16(m []uint8) []uint16 {
	out := make([]uint16, len(m))
	for i, v := range m {
		out[i] = uint16(v)
	}
	return out
}

// TestAsmSeedSum holds SeedSumF32, the first pass of the vector seed
// kernel (avx2: 8 lanes, avx512: 16), to its reference loops on every
// length up to 72 (whole vectors, then a tail): the sum bit for bit
// (float64 lane sums, lane j of L taking every L-th value, the two halves
// added lane by lane and then their L/2 lanes in order), and the bounds
// (the least of 1 and every p, the largest of 0 and every p, NaN left
// out), with an extreme value at every position, alone and beside a NaN,
// so that a tail lane the load left out (it reads 0) or a NaN taken as a
// bound fails.
func TestAsmSeedSum(t *testing.T) {
	for _, w := range seedWidths() {
		t.Run(w.kernel, func(t *testing.T) {
			ref := func(s []float32) (sum float64, lo, hi float32) {
				lanes := make([]float64, w.lanes)
				lo, hi = 1, 0
				for i, v := range s {
					lanes[i%w.lanes] += float64(v)
					if v < lo {
						lo = v
					}
					if v > hi {
						hi = v
					}
				}
				half := w.lanes / 2
				sum = lanes[0] + lanes[half]
				for j := 1; j < half; j++ {
					sum += lanes[j] + lanes[j+half]
				}
				return sum, lo, hi
			}
			same := func(a, b float64) bool { return a == b || a != a && b != b }
			for n := 0; n <= 72; n++ {
				base := make([]float32, n)
				for i := range base {
					base[i] = 0.25 + float32(i%7)/16 // in [0.25, 0.625]
				}
				cases := [][]float32{base}
				for at := 0; at < n; at++ {
					for _, v := range []float32{0.01, 0.99, 0, 1, 3, -2, float32(math.NaN()), float32(math.Inf(1))} {
						c := slices.Clone(base)
						c[at] = v
						cases = append(cases, c)
						if n > 1 {
							c = slices.Clone(c)
							c[(at+1)%n] = float32(math.NaN())
							cases = append(cases, c)
						}
					}
				}
				for _, c := range cases {
					sum, lo, hi := w.sum(c)
					wsum, wlo, whi := ref(c)
					if !same(sum, wsum) || lo != wlo || hi != whi {
						t.Fatalf("SeedSumF32(%v) = %v, %v, %v, want %v, %v, %v", c, sum, lo, hi, wsum, wlo, whi)
					}
				}
			}
		})
	}
}

// TestSeedAllInside holds seedRowFast8's and seedRowFast16's shortcut to
// the masks pass it skips: wherever allInside takes a row (from
// SeedSumF32's bounds) as lying wholly inside the clip range, that width's
// SeedMasksF32 marks every lane inside (the masks of insideMasks) with none above; rows with lanes at, near and beyond both
// bounds (p/S near 1e-7, one lane holding nearly all of S, a single lane)
// and plain ones, on every length up to 40, so that the shortcut is seen
// taken and refused.
func TestSeedAllInside(t *testing.T) {
	for _, w := range seedWidths() {
		t.Run(w.kernel, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 3))
			var taken, refused int
			for n := 1; n <= 40; n++ {
				for trial := range 60 {
					p := make([]float32, n)
					for c := range p {
						p[c] = float32(0.05 + rng.Float64())
					}
					switch trial % 4 {
					case 1: // one lane near the lower bound: p/S about 1e-7
						at := rng.IntN(n)
						p[at] = 0
						var s float64 // of the other lanes
						for _, v := range p {
							s += float64(v)
						}
						// p/S = 1e-7 within a few float32 roundings: float32 and
						// float64 disagree on some of these.
						p[at] = float32(s * 1e-7 / (1 - 1e-7) * (1 + (rng.Float64()-0.5)*4e-7))
					case 2: // one lane near the upper one
						p[rng.IntN(n)] = float32(1e7 * float64(n) * (1 + (rng.Float64()-0.5)*1e-6))
					case 3: // a tiny lane
						p[rng.IntN(n)] = float32(rng.Float64() * 1e-6)
					}
					sum, minP, maxP := w.sum(p)
					if !fastRow(sum) {
						continue
					}
					k := seedConsts[float32](Seed{Gamma: 2, E: 0.1}, n)
					v := newSeedVector(&k)
					kc := v.masksConsts(sum)
					if !allInside(&kc, minP, maxP) {
						refused++
						continue
					}
					taken++
					masks, inside, above := w.masks(p, &kc)
					if inside != n || above != 0 || !slices.Equal(masks, w.allIn(n)) {
						t.Fatalf("p = %v: allInside, but the masks pass gives masks %b, %d inside, %d above (want %b, %d, 0)",
							p, masks, inside, above, w.allIn(n), n)
					}
				}
			}
			if taken == 0 || refused == 0 {
				t.Fatalf("the shortcut was taken on %d rows and refused on %d: want both", taken, refused)
			}
			t.Logf("shortcut taken on %d rows, refused on %d", taken, refused)
		})
	}
}

// TestSeedMainInsideSameBits holds the Inside forms of the seed kernel's
// generated main pass (avx2.SeedMainInside*F32 for every gamma,
// avx512.SeedMainAnyInside*F32 for non-integer gamma), which take no
// masks, to the masked forms given every lane inside (the masks of
// insideMasks): the same bits in the gradient, every float64 lane sum and
// the guard values around the gradient, on every length up to 70 and
// longer rows, for every power kind (gamma 0, 2, the squaring loop, and
// non-integer), soft, negative, NaN and infinite labels and predictions
// at and past 0 and 1, so that a lane past the row's end taken in (its p
// loads as 0) or a blend left out shows.
func TestSeedMainInsideSameBits(t *testing.T) {
	type form struct {
		kernel, name string
		lanes        int
		gammas       []float64
		masked       func(g, y, p, w []float32, k *[12]uint32) []float64
		inside       func(g, y, p, w []float32, k *[12]uint32) []float64
	}
	var forms []form
	for _, kernel := range vectorKernels() {
		switch kernel {
		case KernelAVX2:
			forms = append(forms, form{kernel, "SeedMainInside", 8, []float64{0, 1, 2, 3, 5, 2.5, 0.5},
				func(g, y, p, w []float32, k *[12]uint32) []float64 {
					var acc [16]float64
					m := insideMasks[uint8](len(p), 8)
					if g == nil {
						avx2.SeedMainLossF32(y, p, w, m, make([]uint64, len(p)/8), k, &acc)
					} else {
						avx2.SeedMainGradF32(g, y, p, w, m, make([]uint64, len(p)/8), k, &acc)
					}
					return acc[:]
				},
				func(g, y, p, w []float32, k *[12]uint32) []float64 {
					var acc [16]float64
					if g == nil {
						avx2.SeedMainInsideLossF32(y, p, w, make([]uint64, len(p)/8), k, &acc)
					} else {
						avx2.SeedMainInsideGradF32(g, y, p, w, make([]uint64, len(p)/8), k, &acc)
					}
					return acc[:]
				}})
		case KernelAVX512:
			forms = append(forms, form{kernel, "SeedMainAnyInside", 16, []float64{2.5, 0.5, 3.7},
				func(g, y, p, w []float32, k *[12]uint32) []float64 {
					var acc [32]float64
					m := insideMasks[uint16](len(p), 16)
					if g == nil {
						avx512.SeedMainAnyLossF32(y, p, w, m, make([]uint64, len(p)/16), k, &acc)
					} else {
						avx512.SeedMainAnyGradF32(g, y, p, w, m, make([]uint64, len(p)/16), k, &acc)
					}
					return acc[:]
				},
				func(g, y, p, w []float32, k *[12]uint32) []float64 {
					var acc [32]float64
					if g == nil {
						avx512.SeedMainAnyInsideLossF32(y, p, w, make([]uint64, len(p)/16), k, &acc)
					} else {
						avx512.SeedMainAnyInsideGradF32(g, y, p, w, make([]uint64, len(p)/16), k, &acc)
					}
					return acc[:]
				}})
		}
	}
	if len(forms) == 0 {
		t.Fatalf("no vector kernel on this CPU: %v", Kernels())
	}
	const guard = 5
	rng := rand.New(rand.NewPCG(21, 4))
	lengths := []int{100, 1000, 1003}
	for n := 1; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	for _, f := range forms {
		t.Run(f.kernel, func(t *testing.T) {
			compared := 0
			for _, n := range lengths {
				y, p, w := make([]float32, n), make([]float32, n), make([]float32, n)
				for c := range p {
					p[c] = float32(rng.Float64())
					w[c] = float32(rng.Float64() * 3)
					switch r := rng.IntN(10); {
					case r < 3:
						y[c] = 1
					case r == 3:
						y[c] = float32(rng.Float64()) // soft
					case r == 4:
						y[c] = -0.5
					}
				}
				if n > 3 { // edges at random places
					p[rng.IntN(n)], p[rng.IntN(n)], p[rng.IntN(n)] = 0, 1, 1.25
					y[rng.IntN(n)], y[rng.IntN(n)] = float32(math.NaN()), float32(math.Inf(1))
				}
				var sum float64
				for _, v := range p {
					sum += float64(v)
				}
				for _, gamma := range f.gammas {
					k := seedConsts[float32](Seed{Gamma: gamma, E: 0.1}, n)
					v := newSeedVector(&k)
					if f.kernel == KernelAVX512 && v.powKind != powReal {
						t.Fatalf("gamma %v: the AVX-512 generated pass is for non-integer gamma only", gamma)
					}
					km := v.mainConsts(v.smoothing(n, sum))
					for _, grad := range []bool{true, false} {
						var g1, g2 []float32
						var gw1, gw2 []float32
						if grad {
							g1, g2 = make([]float32, n+2*guard), make([]float32, n+2*guard)
							for i := range g1 {
								g1[i], g2[i] = -7, -7
							}
							gw1, gw2 = g1[guard:guard+n], g2[guard:guard+n]
						}
						acc1 := f.masked(gw1, y, p, w, &km)
						acc2 := f.inside(gw2, y, p, w, &km)
						for i := range acc1 {
							if math.Float64bits(acc1[i]) != math.Float64bits(acc2[i]) {
								t.Fatalf("n=%d gamma=%v grad=%v: %s lane sum %d %v, masked form %v", n, gamma, grad, f.name, i, acc2[i], acc1[i])
							}
						}
						for i := range g1 {
							if math.Float32bits(g1[i]) != math.Float32bits(g2[i]) {
								t.Fatalf("n=%d gamma=%v: %s gradient[%d] (guard %d) %v, masked form %v", n, gamma, f.name, i-guard, guard, g2[i], g1[i])
							}
						}
						compared++
					}
				}
			}
			t.Logf("%s: %d rows the same bits as the masked form", f.name, compared)
		})
	}
}
