//go:build goexperiment.simd && amd64

package avocmp

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"strconv"
	"testing"
)

// testData returns n positive normal numbers, log-uniform over
// [e^-50, e^100] with a quarter of them near 1, where log(1+f) matters most.
func testData(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n)
	for i := range x {
		if i%4 == 0 {
			x[i] = 1 + (r.Float64()-0.5)*0.6
		} else {
			x[i] = math.Exp(r.Float64()*150 - 50)
		}
	}
	return x
}

// laneSumLog is the scalar reference: math.Log summed in 8 lane sums added
// in lane order, the order both vector versions use.
func laneSumLog(x []float64) float64 {
	var acc [lanes]float64
	for i, v := range x {
		acc[i%lanes] += math.Log(v)
	}
	return sumLanes(&acc)
}

// neumaierSumLog sums math.Log(x_i) with compensation: the accurate value.
func neumaierSumLog(x []float64) float64 {
	var s, c float64
	for _, v := range x {
		t := math.Log(v)
		u := s + t
		if math.Abs(s) >= math.Abs(t) {
			c += (s - u) + t
		} else {
			c += (t - u) + s
		}
		s = u
	}
	return s + c
}

func needAVX512(tb testing.TB) {
	if !archsimd.X86.AVX512() {
		tb.Skip("no AVX-512")
	}
}

func TestSumLogSame(t *testing.T) {
	needAVX512(t)
	for _, n := range []int{0, 1, 7, 8, 9, 1000, 1003, 1_000_000} {
		x := testData(n, uint64(n))
		simd, hoist, avo := SumLogSIMD(x), SumLogSIMDHoisted(x), SumLogAVO(x)
		ref, exact := laneSumLog(x), neumaierSumLog(x)
		if math.Float64bits(simd) != math.Float64bits(avo) || math.Float64bits(hoist) != math.Float64bits(avo) {
			t.Errorf("n=%d: archsimd %v, hoisted %v, avo %v differ", n, simd, hoist, avo)
		}
		// Not bit for bit: the vector log rounds with FMA and can be 1 ulp
		// from math.Log (see TestLogULP), so the lane sums may differ too.
		same := math.Float64bits(avo) == math.Float64bits(ref)
		rel := math.Abs(avo-exact) / math.Max(math.Abs(exact), math.SmallestNonzeroFloat64)
		if exact == 0 {
			rel = math.Abs(avo)
		}
		t.Logf("n=%d: sum %v, relative error vs compensated math.Log sum %.2g, same bits as math.Log in lane order: %v", n, avo, rel, same)
		if rel > 1e-14 {
			t.Errorf("n=%d: relative error %g", n, rel)
		}
	}
}

// TestLogULP checks element by element that archsimd and avo give the
// same bits, within 1 ulp of math.Log (as goloss's tests allow: the vector
// log uses FMA, math.Log on amd64 does not): a one-element slice sums
// log(x) and seven log(1) = +0.
func TestLogULP(t *testing.T) {
	needAVX512(t)
	x := testData(100_000, 7)
	x = append(x, 0x1p-1022, math.MaxFloat64, 1, math.Nextafter(1, 2), math.Nextafter(1, 0), math.Sqrt2, math.Sqrt2/2, math.NaN())
	off := 0
	for _, v := range x {
		simd, avo, want := SumLogSIMD([]float64{v}), SumLogAVO([]float64{v}), math.Log(v)
		if math.Float64bits(simd) != math.Float64bits(avo) {
			t.Errorf("log(%v): archsimd %v, avo %v", v, simd, avo)
		}
		if math.IsNaN(want) {
			if !math.IsNaN(avo) {
				t.Errorf("log(%v) = %v, want NaN", v, avo)
			}
			continue
		}
		if avo != want {
			off++
			ulp := math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)
			if d := math.Abs(avo-want) / ulp; d > 1 {
				t.Errorf("log(%v) = %v, math.Log %v: %.2f ulp", v, avo, want, d)
			}
		}
	}
	t.Logf("%d of %d values 1 ulp from math.Log, the others equal", off, len(x))
}

func BenchmarkSumLog(b *testing.B) {
	needAVX512(b)
	impls := []struct {
		name string
		f    func([]float64) float64
	}{
		{"archsimd", SumLogSIMD},
		{"archsimdHoisted", SumLogSIMDHoisted},
		{"avo", SumLogAVO},
		{"mathLog", laneSumLog},
	}
	for _, n := range []int{1000, 1_000_000} {
		x := testData(n, 1)
		for _, impl := range impls {
			b.Run("n="+strconv.Itoa(n)+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				var s float64
				for b.Loop() {
					s += impl.f(x)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
				if math.IsNaN(s) {
					b.Fatal("NaN")
				}
			})
		}
	}
}
