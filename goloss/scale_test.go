package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// floatBits returns the bits of v (float32 in the low 32).
func floatBits[T Float](v T) uint64 {
	if _, ok := any(v).(float32); ok {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(float64(v))
}

// floatFromBits is floatBits' inverse (float32: the low 32 bits).
func floatFromBits[T Float](b uint64) T {
	var v T
	if _, ok := any(v).(float32); ok {
		return T(math.Float32frombits(uint32(b)))
	}
	return T(math.Float64frombits(b))
}

// scaleSpecials are the hard values of scaleGrad's tests, as bits: ±0,
// ±Inf, quiet NaNs with and without a payload, a signalling NaN, the
// least and largest subnormals, the least normal, the largest finite
// value, ±1.
func scaleSpecials[T Float]() []T {
	bits := []uint64{0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
		0x7fc01234, 0x7f800001, 1, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff,
		0x3f800000, 0xbf800000}
	var zero T
	if _, ok := any(zero).(float64); ok {
		bits = []uint64{0, 1 << 63, 0x7ff0000000000000, 0xfff0000000000000,
			0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000000001234, 0x7ff0000000000001,
			1, 0x800fffffffffffff, 0x0010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff,
			0x3ff0000000000000, 0xbff0000000000000}
	}
	s := make([]T, len(bits))
	for i, b := range bits {
		s[i] = floatFromBits[T](b)
	}
	return s
}

// TestScaleGrad holds scaleGrad on every kernel of this build and CPU to
// the loop `x[i] = c * x[i]`, bit for bit (NaNs too: the loop's MULSS/MULSD
// and the vector multiplies quiet a NaN operand the same way and give the
// same default NaN for 0*Inf), for lengths 0-100, 1000 and 1003 at
// unaligned starts, and checks that the elements either side of the slice,
// in the same backing array, are untouched.
func TestScaleGrad(t *testing.T) {
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			t.Run("float32", func(t *testing.T) { testScaleGrad[float32](t) })
			t.Run("float64", func(t *testing.T) { testScaleGrad[float64](t) })
		})
	}
}

func testScaleGrad[T Float](t *testing.T) {
	const guard = 40 // more than two vectors of 16 float32 lanes
	rng := rand.New(rand.NewPCG(7, 3))
	specials := scaleSpecials[T]()
	var lengths []int
	for n := 0; n <= 100; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 1003)
	cs := []T{T(0.001), T(1.0 / 1024), 3, -0.5, 0, T(math.Inf(1))}
	_, wide := any(T(0)).(float64)
	randBits := func() uint64 {
		if wide {
			return rng.Uint64()
		}
		return uint64(rng.Uint32())
	}
	for _, n := range lengths {
		for _, off := range []int{0, 1, 3, 5} {
			buf := make([]T, guard+off+n+guard)
			for i := range buf {
				switch rng.IntN(4) {
				case 0:
					buf[i] = specials[rng.IntN(len(specials))]
				case 1:
					buf[i] = floatFromBits[T](randBits())
				default:
					buf[i] = T(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
				}
			}
			lo, hi := guard+off, guard+off+n
			for _, c := range cs {
				orig := append([]T(nil), buf...)
				want := append([]T(nil), buf[lo:hi]...)
				for i := range want {
					want[i] = c * want[i]
				}
				scaleGrad(buf[lo:hi], c)
				for i := range buf {
					w := orig[i]
					if i >= lo && i < hi {
						w = want[i-lo]
					}
					if floatBits(buf[i]) != floatBits(w) {
						where := "outside the slice"
						if i >= lo && i < hi {
							where = fmt.Sprintf("x[%d] = %v", i-lo, orig[i])
						}
						t.Fatalf("n=%d off=%d c=%v: buf[%d] (%s) is %#x, want %#x",
							n, off, c, i, where, floatBits(buf[i]), floatBits(w))
					}
				}
				copy(buf, orig)
			}
		}
	}
}

// TestScaleGradNamedType: an element type that is not exactly float32 or
// float64 takes the loop.
func TestScaleGradNamedType(t *testing.T) {
	type f32 float32
	for _, kernel := range Kernels() {
		useKernel(t, kernel)
		g := []f32{1, -2, 3.5, 0}
		scaleGrad(g, 2)
		for i, w := range []f32{2, -4, 7, 0} {
			if g[i] != w {
				t.Fatalf("%s: g[%d] = %v, want %v", kernel, i, g[i], w)
			}
		}
	}
}

// benchScale is BenchmarkScaleGrad's c: 1 keeps the values the same every
// call, and a variable is not folded away as the constant 1 would be.
var benchScale float32 = 1

// BenchmarkScaleGrad runs scaleGrad on float32 with every kernel of this
// build and CPU, on 1000 elements (hot in L1) and on 1<<20 (4 MiB), and
// reports ns per element.
func BenchmarkScaleGrad(b *testing.B) {
	for _, kernel := range Kernels() {
		for _, n := range []int{1000, 1 << 20} {
			b.Run(fmt.Sprintf("%s/n=%d/float32", kernel, n), func(b *testing.B) {
				useKernel(b, kernel)
				g := make([]float32, n)
				for i := range g {
					g[i] = float32(i%97) * 0.25
				}
				c := benchScale
				scaleGrad(g, c) // untimed: faults the pages in
				b.ResetTimer()
				for b.Loop() {
					scaleGrad(g, c)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
			})
		}
	}
}
