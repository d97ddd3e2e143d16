//go:build !noasm

package goloss

import (
	"math"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
)

// The slots of seed64Consts, the constants of the AVX2 float64 seed
// kernels, each 4 equal uint64 lanes: the order of s64* in
// _asmgen/avx2_seed64.go.
const (
	s64InvS       = iota // 1/S (per row)
	s64TLo               // the least p with ratioLo <= p/S (per row)
	s64THi               // the greatest p with p/S <= ratioHi (per row)
	s64Shared            // sharedTerm: e/C * M/S (per row)
	s64RatioLo           // the clip bounds of p/S
	s64RatioHi           //
	s64LogLo             // the clip bound of the focal log
	s64Gamma             // gamma
	s64FocalScale        // (1-e)/C
	s64SmoothW           // e/C
	s64Kind              // the kind of gamma, seed64Pow0 ... seed64PowReal
	s64NPow              // the integer gamma of seed64PowN
	s64Ahead             // the prefetch distance of the main pass, in bytes
	seed64Slots
)

// The kinds of gamma of the AVX2 float64 seed kernels.
const (
	seed64Pow0    = 0 // gamma = 0: pow 1, dpow 0
	seed64Pow2    = 1 // gamma = 2: diff*diff
	seed64PowN    = 2 // another integer gamma: repeated squaring
	seed64PowReal = 3 // exp(gamma * log(y - p)), NaN for y < p
)

// seed64Consts holds the constants of the AVX2 float64 seed kernels.
type seed64Consts = [seed64Slots * 4]uint64

// seed64Set sets the 4 lanes of slot i of kc to v.
func seed64Set(kc *seed64Consts, i int, v float64) {
	b := math.Float64bits(v)
	for j := range 4 {
		kc[4*i+j] = b
	}
}

// newSeed64Consts returns the constants that every row of one call shares.
func newSeed64Consts(k *seedConstants) seed64Consts {
	var kc seed64Consts
	seed64Set(&kc, s64RatioLo, k.ratioLo)
	seed64Set(&kc, s64RatioHi, k.ratioHi)
	seed64Set(&kc, s64LogLo, k.logLo)
	seed64Set(&kc, s64Gamma, k.gamma)
	seed64Set(&kc, s64FocalScale, k.focalScale)
	seed64Set(&kc, s64SmoothW, k.smoothW)
	kind, n := powClass(k.gamma)
	switch {
	case kind == powZero:
		kc[4*s64Kind] = seed64Pow0
	case kind == powInt && n == 2:
		kc[4*s64Kind] = seed64Pow2
	case kind == powInt:
		kc[4*s64Kind], kc[4*s64NPow] = seed64PowN, n
	default:
		kc[4*s64Kind] = seed64PowReal
	}
	return kc
}

// seed64MaxAhead bounds how far ahead the main pass prefetches: a row
// ahead (the next row of the matrix), up to this many bytes.
const seed64MaxAhead = 8 << 10

// seed64MinSum and seed64MaxSum bound |S| for the AVX2 float64 kernels:
// every p with p/S inside its clip range then has a finite 1/p, and 1/S is
// normal. Other rows (S = 0, tiny, huge, Inf or NaN) take the portable row.
const (
	seed64MinSum = 0x1p-960
	seed64MaxSum = 0x1p960
)

// seedRowsF64x4 runs float64 seed rows with AVX2 in 4 float64 lanes and
// reports whether it did (always). Per row: S (avx2.SeedSumF64), the
// bounds of p that decide the clip of p/S (seed64Bounds), with the
// gradient the count M (avx2.SeedInsideF64), then the main pass
// (avx2.SeedMainGradF64 or SeedMainLossF64), whose lane sums are added in
// lane order here. A row whose |S| lies outside [seed64MinSum,
// seed64MaxSum] takes the portable row. Tested against seedRow
// (TestSeedKernelsMatchReference, TestSeedRowsF64x4).
func seedRowsF64x4(loss, grad, labels, preds, weights []float64, cols int, k *seedConstants) bool {
	kc := newSeed64Consts(k)
	kc[4*s64Ahead] = uint64(min(8*cols, seed64MaxAhead))
	var acc [8]float64
	for b := range loss {
		g, y, p := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		sum := avx2.SeedSumF64(p)
		if a := math.Abs(sum); !(a >= seed64MinSum && a <= seed64MaxSum) {
			loss[b] = portableSeedRow(g, y, p, weights, k)
			continue
		}
		tLo, tHi := seed64Bounds(sum, k.ratioLo, k.ratioHi)
		seed64Set(&kc, s64InvS, 1/sum)
		seed64Set(&kc, s64TLo, tLo)
		seed64Set(&kc, s64THi, tHi)
		if g != nil {
			inside := 0
			if k.smoothW != 0 { // else the shared term is 0 for any M
				inside = avx2.SeedInsideF64(p, &kc)
			}
			seed64Set(&kc, s64Shared, sharedTerm(k.smoothW, float64(inside), sum))
			avx2.SeedMainGradF64(g, y, p, weights, &kc, &acc)
		} else {
			avx2.SeedMainLossF64(y, p, weights, &kc, &acc)
		}
		focal := -laneSum4(acc[0:4])
		logSum := laneSum4(acc[4:8])
		loss[b] = k.focalScale*focal - k.smoothW*logSum
	}
	return true
}

// laneSum4 adds 4 lane sums in lane order.
func laneSum4(a []float64) float64 {
	var s float64
	for _, v := range a[:4] {
		s += v
	}
	return s
}

// seed64Bounds returns tLo and tHi such that, for every float64 p,
// lo <= p/S && p/S <= hi (p/S rounded, as seedRow computes it) exactly
// when tLo <= p && p <= tHi. S is finite with |S| in [seed64MinSum,
// seed64MaxSum], 0 < lo <= hi < 1. The rounded p/S grows with p, so the p
// with lo <= p/S are those from the least one; p/S and (-p)/(-S) are the
// same number.
func seed64Bounds(sum, lo, hi float64) (tLo, tHi float64) {
	s := math.Abs(sum)
	// The least a with a/s >= lo: from lo*s, down while a/s >= lo, then
	// up to the first a/s >= lo.
	a := lo * s
	for a/s >= lo {
		a = math.Nextafter(a, math.Inf(-1))
	}
	for a/s < lo {
		a = math.Nextafter(a, math.Inf(1))
	}
	// The greatest b with b/s <= hi.
	b := hi * s
	for b/s <= hi {
		b = math.Nextafter(b, math.Inf(1))
	}
	for b/s > hi {
		b = math.Nextafter(b, math.Inf(-1))
	}
	if sum < 0 {
		return -b, -a
	}
	return a, b
}
