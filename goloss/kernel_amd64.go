//go:build !noasm

package goloss

import (
	"math"

	"github.com/gofocal/gofocal/goloss/internal/avx2"
	"github.com/gofocal/gofocal/goloss/internal/avx512"
	"github.com/gofocal/gofocal/goloss/internal/cpu"
)

// The vector kernels of amd64: the assembly of internal/avx2 (8 float32
// lanes) and internal/avx512 (16 float32 lanes), both generated from
// _asmgen, plus the Go that prepares their constants and adds up their
// lane sums. A function of one of those packages runs only when the
// active kernel is that package's ISA, and activeKernel is always one
// that this CPU has (pickKernel).

// hasAsm says whether this build has the vector kernels of amd64.
const hasAsm = true

// cpuKernels lists the vector kernels this CPU supports, slowest first.
func cpuKernels() []string {
	var ks []string
	if cpu.X86.AVX2FMA {
		ks = append(ks, KernelAVX2)
	}
	if cpu.X86.AVX512 {
		ks = append(ks, KernelAVX512)
	}
	return ks
}

// The dispatch table: which code runs each cell, by kernel. A cell the
// table does not name runs the portable rows (portableSeedRows,
// portableBinaryRows), which every kernel shares.
//
//	cell                                  avx2                     avx512
//	seed, float32, integer gamma          seedRowsF32x8            seedRowsF32x16
//	seed, float32, other gamma            seedRowsF32x8            seedRowsF32x16 (avx512.SeedMainAny*F32)
//	seed, float64                         seedRowsF64x4            seedRowsF64x4 (AVX2)
//	binary, float32                       binaryRowF32x8           binaryRowF32x16
//	binary, float64                       binaryRowsF64x4          binaryRowsF64x4 (AVX2)
//	binary, float64, with an ignore value the portable rows (binaryRowPortableAny; the reference loops for an ignore value in about [0, 1])
//	asymmetric, float32                   asymmetricRowF32x8       asymmetricRowF32x16
//	asymmetric, float64                   asymmetricRowsF64x4      asymmetricRowsF64x4 (AVX2)
//	validation: values in [0, 1]          avx2.UnitRange*          avx2.UnitRange*
//	validation, seed float32              avx2.SeedSumF32          avx512.SeedSumF32 (seedSumsInRange: the rows' first pass)
//	seed, ignore value > 0                the cells above, on a copy of the labels with the unknown ones 0
//	scale of the gradient                 avx2.ScaleF32/F64        avx512.ScaleF32/F64
//
// The generic kernel runs the portable rows (the asymmetric ones in
// portable_asymmetric.go), and the reference loops where there are none:
// the binary variant with an ignore value in about [0, 1]
// (binaryRowPortableAny). In each vector row a row the assembly cannot
// take (a sum that is not finite or is tiny, u^gamma overflowing) goes to
// the portable row (binary with an ignore value: binaryRowPortableAny), or
// to the reference loop in the cells that the portable rows do not cover
// (asymmetric: u^g overflowing, a real power of a u outside [0, 1], from
// inputs outside [0, 1], unchecked). The asymmetric cells take every
// parameter: probabilities and logits, both gradient modes, class
// weights, an ignore value, any clip, eps and gammas. With an ignore
// value the binary float32 rows run the kernels Binary*IgnoreF32, which
// leave out the lanes of unknown labels and take the row's 1/K per row;
// without one, the kernels from before ignore values (no mask to pay
// for). The seed variant's unknown labels are labels of 0, so its vector
// cells take them on a copy; an ignore value <= 0 changes nothing (such
// labels are no positives anyway). Without an ignore value every call runs
// the cells of seed and binary as before ignore values existed. The quick
// validation pass takes a label equal to the ignore value as fine
// (avx2.UnitRangeOr*), so that unknown labels do not send every row to
// the scalar check that names the first offending value.

func seedRowsF64(kernel string, loss, grad, labels, preds, weights []float64, cols int, k *seedConstants) bool {
	if kernel == KernelGeneric {
		return false
	}
	return seedRowsF64x4(loss, grad, labels, preds, weights, cols, k) // AVX2 code, on avx512 too
}

func seedRowsF32(kernel string, loss, grad, labels, preds, weights []float32, cols int, k *seedConstants) bool {
	v := newSeedVector(k)
	switch {
	case kernel == KernelAVX512:
		seedRowsF32x16(loss, grad, labels, preds, weights, cols, &v)
	case kernel == KernelAVX2:
		seedRowsF32x8(loss, grad, labels, preds, weights, cols, &v)
	default:
		return false
	}
	return true
}

func binaryRowsF64(kernel string, loss, grad, labels, preds []float64, cols int, k *binaryConstants, logits bool) bool {
	if kernel == KernelGeneric || k.unknown.set {
		return false
	}
	return binaryRowsF64x4(loss, grad, labels, preds, cols, k, logits) // AVX2 code, on avx512 too
}

func binaryRowsF32(kernel string, loss, grad, labels, preds []float32, cols int, k *binaryConstants, logits bool) bool {
	v := newBinaryVector(k, logits)
	switch {
	case kernel == KernelAVX512:
		binaryRowsF32Vec(loss, grad, labels, preds, cols, k, &v, binaryRowF32x16)
	case kernel == KernelAVX2:
		binaryRowsF32Vec(loss, grad, labels, preds, cols, k, &v, binaryRowF32x8)
	default:
		return false
	}
	return true
}

// inUnitRange reports, with a vector kernel, that every value of s lies in
// [0, 1] or is NaN. false means only "look closer": a value outside
// [0, 1], or an infinite one, or no vector kernel. AVX-512 CPUs run the
// AVX2 loop: it is bound by memory.
func inUnitRange[T Float](s []T) bool {
	if activeKernel == KernelGeneric {
		return false
	}
	switch s := any(s).(type) {
	case []float32:
		return avx2.UnitRangeF32(s)
	case []float64:
		return avx2.UnitRangeF64(s)
	}
	return false
}

// inUnitRangeOr is inUnitRange with the labels equal to skip's ignore
// value (rounded to T) also taken as fine: with an ignore value of -1 the
// quick check of the labels still passes.
func inUnitRangeOr[T Float](s []T, skip unknownLabel) bool {
	if !skip.set {
		return inUnitRange(s)
	}
	if activeKernel == KernelGeneric {
		return false
	}
	switch s := any(s).(type) {
	case []float32:
		return avx2.UnitRangeOrF32(s, float32(skip.value))
	case []float64:
		return avx2.UnitRangeOrF64(s, skip.value)
	}
	return false
}

// scaleGrad multiplies every g[i] by c in place, as the loop
// `for i := range g { g[i] = c * g[i] }` does, bit for bit, on the active kernel.
func scaleGrad[T Float](g []T, c T) {
	switch g := any(g).(type) {
	case []float32:
		switch activeKernel {
		case KernelAVX512:
			avx512.ScaleF32(g, float32(c))
			return
		case KernelAVX2:
			avx2.ScaleF32(g, float32(c))
			return
		}
	case []float64:
		switch activeKernel {
		case KernelAVX512:
			avx512.ScaleF64(g, float64(c))
			return
		case KernelAVX2:
			avx2.ScaleF64(g, float64(c))
			return
		}
	}
	scaleGradPortable(g, c)
}

// rowSlice returns row b of a rows×cols matrix, or nil for an empty one
// (no gradient wanted).
func rowSlice[T Float](m []T, b, cols int) []T {
	if len(m) == 0 {
		return nil
	}
	return m[b*cols : (b+1)*cols]
}

// seedRowsF32x16 runs float32 rows on AVX-512 in 16 float32 lanes
// (seedRowFast16); rows whose sum the fast kernel cannot take go to the
// portable row. Each row's first pass is v.sums' where the check of p ran
// it.
func seedRowsF32x16(loss, grad, labels, preds, weights []float32, cols int, v *seedVector) {
	masks, offs := make([]uint16, (cols+15)/16), make([]uint64, cols/16)
	inside := insideMasks16(cols)
	for b := range loss {
		g, y, p := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		s := v.rowSum(b, p, avx512.SeedSumF32)
		if !fastRow(s.sum) {
			loss[b] = float32(portableSeedRow(g, y, p, weights, &v.seedConstants))
			continue
		}
		loss[b] = float32(seedRowFast16(g, y, p, weights, masks, inside, offs, v, s))
	}
}

// rowSum returns row b's first pass: v.sums' where the check of p ran it,
// else sum's over p (avx2.SeedSumF32 or avx512.SeedSumF32).
func (v *seedVector) rowSum(b int, p []float32, sum func([]float32) (float64, float32, float32)) seedRowSum {
	if v.sums != nil {
		return v.sums[b]
	}
	var s seedRowSum
	s.sum, s.minP, s.maxP = sum(p)
	return s
}

// seedSumsChecked reports whether the check of float32 predictions runs
// the vector seed kernel's first pass (seedSumsInRange), whose results the
// rows then take (seedRowsF32x8, seedRowsF32x16): with the avx2 or the
// avx512 kernel in use.
func seedSumsChecked[T Float](preds []T) bool {
	_, f32 := any(preds).([]float32)
	return f32 && (activeKernel == KernelAVX2 || activeKernel == KernelAVX512)
}

// seedSumsInRange runs the active kernel's SeedSumF32 (avx2 or avx512)
// over each row of preds (float32), into sums, and reports what
// inUnitRange would: whether every p lies in [0, 1] or is NaN (the bounds
// leave NaN out).
func seedSumsInRange[T Float](preds []T, cols int, sums []seedRowSum) bool {
	p := any(preds).([]float32)
	sum := avx2.SeedSumF32
	if activeKernel == KernelAVX512 {
		sum = avx512.SeedSumF32
	}
	ok := true
	for b := range sums {
		s := &sums[b]
		s.sum, s.minP, s.maxP = sum(p[b*cols : (b+1)*cols])
		ok = ok && s.minP >= 0 && s.maxP <= 1
	}
	return ok
}

// seedRowsF32x8 runs float32 rows on AVX2 in 8 float32 lanes
// (seedRowFast8), the others as seedRowsF32x16 does.
func seedRowsF32x8(loss, grad, labels, preds, weights []float32, cols int, v *seedVector) {
	masks, offs := make([]uint8, (cols+7)/8), make([]uint64, cols/8)
	for b := range loss {
		g, y, p := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		s := v.rowSum(b, p, avx2.SeedSumF32)
		if !fastRow(s.sum) {
			loss[b] = float32(portableSeedRow(g, y, p, weights, &v.seedConstants))
			continue
		}
		loss[b] = float32(seedRowFast8(g, y, p, weights, masks, offs, v, s))
	}
}

// insideMasks16 returns the masks of a row of cols lanes all inside, one
// uint16 per 16 lanes: every bit of the cols lanes set, none past them.
func insideMasks16(cols int) []uint16 { return insideMasks[uint16](cols, 16) }

// insideMasks returns the masks of a row of cols lanes all inside, one M
// per lanes lanes (tests take the uint8 form of AVX2's masks pass).
func insideMasks[M uint8 | uint16](cols, lanes int) []M {
	m := make([]M, (cols+lanes-1)/lanes)
	for i := range m {
		m[i] = ^M(0)
	}
	if r := cols % lanes; r != 0 {
		m[len(m)-1] = M(1)<<r - 1
	}
	return m
}

// allInside reports whether every p of a row with bounds minP <= p <= maxP
// has p/S inside its clip range, decided in float32 as the masks pass
// decides it: p*(1/S) rounded to float32 grows with p, so if the least
// and the largest lie strictly between the bands of the two bounds (where
// the masks pass decides without float64), so does every lane.
func allInside(kc *[14]uint32, minP, maxP float32) bool {
	invS := f32frombits(kc[0])
	return minP*invS > f32frombits(kc[4]) && maxP*invS < f32frombits(kc[5])
}

// seedRowFast16 computes seedRow for a float32 row whose sum S is finite,
// at least fastRowMinSum and finite in float32, in 16 float32 lanes
// (avx512.SeedMasksF32 or SeedMasksLowF32, or neither where allInside
// shows every p/S inside: the masks of insideMasks16; then for integer gamma
// avx512.SeedMainGradF32 or SeedMainLossF32, and for other gammas
// SeedMainAnyGradF32 or SeedMainAnyLossF32 or their Inside forms, the main
// pass of seedRowFast8 on 16 lanes, generated from the same description).
// It takes one logarithm and one reciprocal per element:
//
//   - log q = log p - log S wherever p/S lies inside its clip range, so the
//     row's smoothing sum is the sum of log p over those lanes, minus M*log S
//     (float64), plus the clip bounds' logs times the number of lanes at
//     each bound; the focal term's log(clip(p, 1e-8, 1)) is the same log p
//     clipped;
//   - 1/p is VRCP14PS refined by one Newton step with the residual
//     p*r - 1 (FMA), which the smoothing gradient needs anyway to keep its
//     cancellation exact (the SeedMainAny pass divides, as on AVX2);
//   - M and the clip masks come first, in a pass of their own, so that the
//     gradient is written once, in the pass that computes the loss (the
//     SeedMainAny pass writes its smoothing part first and adds the focal
//     part in the vectors with a positive label, as on AVX2, with offs as
//     its scratch; a row with every lane inside runs its Inside form).
//
// log p - log S differs from float32 log(p/S) by the rounding of p/S (a
// few 1e-8 absolute), as TensorFlow's float32 evaluation does. Tested
// against seedRow to SPEC's float32 tolerance (TestSeedKernelsMatchReference).
func seedRowFast16(g, y, p, w []float32, masks, allIn []uint16, offs []uint64, k *seedVector, s seedRowSum) float64 {
	sum := s.sum
	kc := k.masksConsts(sum)
	inside, above := len(p), 0
	switch {
	case allInside(&kc, s.minP, s.maxP):
		masks = allIn
	case s.maxP*f32frombits(kc[0]) < f32frombits(kc[5]):
		// Where even the largest p/S (p*(1/S) in float32 grows with p)
		// lies below the band of the upper bound, only the lower one
		// decides.
		inside, above = avx512.SeedMasksLowF32(p, masks, &kc)
	default:
		inside, above = avx512.SeedMasksF32(p, masks, &kc)
	}
	km := k.mainConsts(k.smoothing(inside, sum))
	// The generated pass writes len(p)/16 offsets: a shorter offs panics here.
	offs = offs[:len(p)/16]
	var acc [32]float64 // float64 lane sums: focal lo, hi, log p lo, hi
	all := inside == len(p)
	switch {
	case k.powKind == powReal && all && g != nil:
		avx512.SeedMainAnyInsideGradF32(g, y, p, w, offs, &km, &acc)
	case k.powKind == powReal && all:
		avx512.SeedMainAnyInsideLossF32(y, p, w, offs, &km, &acc)
	case k.powKind == powReal && g != nil:
		avx512.SeedMainAnyGradF32(g, y, p, w, masks, offs, &km, &acc)
	case k.powKind == powReal:
		avx512.SeedMainAnyLossF32(y, p, w, masks, offs, &km, &acc)
	case g != nil:
		avx512.SeedMainGradF32(g, y, p, w, masks, &km, &acc)
	default:
		avx512.SeedMainLossF32(y, p, w, masks, &km, &acc)
	}
	return seedFastLoss(k, pairSum(acc[0:8], acc[8:16]), pairSum(acc[16:24], acc[24:32]), len(p), inside, above, sum)
}

// seedRowFast8 is seedRowFast16 on 8 float32 lanes with AVX2
// (avx2.SeedMasksF32, then avx2.SeedMainGradF32 or SeedMainLossF32, or
// their Inside forms): the same algorithm, with 1/p by division and masks
// of one uint8 per 8 lanes, and every gamma: a non-integer gamma takes
// (y-p)^gamma = exp(gamma*log(y-p)) in float32 (AVX-512 CPUs run its main
// pass on 16 lanes for non-integer gamma: seedRowFast16). Three steps take
// less work where labels are sparse: the sum of log p over the inside
// lanes is the log of a product (the lanes' mantissas multiplied, their
// exponents summed, turned into float64 logs once per 8 vectors), so that
// only a vector with a positive label takes a log per element, for its
// focal term; the main pass takes the focal part only in the vectors that
// hold a positive label, in a second loop over their offsets (offs, at
// least len(p)/8 of scratch), with no branch on where they fall (see
// _asmgen/seed_f32.go); and a row whose least and largest p (from the sum
// pass) put every p/S inside its clip range, away from both bounds'
// bands, needs no masks pass (1.57 -> 1.32 ns per element with the
// gradient, one thread, 3% positive labels, AMD EPYC family 25 model 1):
// M is its length and none lies above. A row with every lane inside, by
// that shortcut or by the masks pass, runs the Inside form, which takes no
// masks. Tested against seedRow as seedRowFast16 is.
func seedRowFast8(g, y, p, w []float32, masks []uint8, offs []uint64, k *seedVector, s seedRowSum) float64 {
	sum := s.sum
	kc := k.masksConsts(sum)
	inside, above := len(p), 0
	if !allInside(&kc, s.minP, s.maxP) {
		inside, above = avx2.SeedMasksF32(p, masks, &kc)
	}
	km := k.mainConsts(k.smoothing(inside, sum))
	// The main pass writes len(p)/8 offsets: a shorter offs panics here.
	offs = offs[:len(p)/8]
	var acc [16]float64 // focal lanes 0-3, 4-7; log p lanes 0-3, 4-7
	switch all := inside == len(p); {
	case all && g != nil:
		avx2.SeedMainInsideGradF32(g, y, p, w, offs, &km, &acc)
	case all:
		avx2.SeedMainInsideLossF32(y, p, w, offs, &km, &acc)
	case g != nil:
		avx2.SeedMainGradF32(g, y, p, w, masks, offs, &km, &acc)
	default:
		avx2.SeedMainLossF32(y, p, w, masks, offs, &km, &acc)
	}
	return seedFastLoss(k, pairSum(acc[0:4], acc[4:8]), pairSum(acc[8:12], acc[12:16]), len(p), inside, above, sum)
}

// binaryRowsF32Vec runs float32 rows with the binary kernels generated
// from _asmgen's binary_f32.go at one width, row (binaryRowF32x8 with
// AVX2, binaryRowF32x16 with AVX-512), every gamma and an ignore value or
// none, probabilities and logits, as Keras's float32 evaluation does: the
// smoothed label, the clip, the logs, u = 1 - pt and its powers in float32
// (non-integer gamma as exp(gamma*log u)), the loss terms widened into
// float64 lane sums added in lane order. A row where u^gamma overflows in
// float32 goes to the portable row. With an ignore value the assembly
// leaves out the unknown lanes (zero gradient) and a row's scale is 1 over
// its known classes (binaryRowScale); a row it stops on then runs the
// reference loop, which knows unknown labels (the portable rows do not).
// On probabilities, a vector of hard labels (0 and 1, no label smoothing)
// takes one log per element, log q or log(1-q), with the bits of the two
// logs; from logits, log1p(e^-|z|) reduces e itself (no rounding of 1+e).
// Tested against binaryProbRow and binaryLogitsRow to SPEC's float32
// tolerance (TestBinaryKernelsMatchReference, TestBinaryAsmMatchesReference,
// TestBinaryKernelsUnknownLabels).
func binaryRowsF32Vec(loss, grad, labels, preds []float32, cols int, k *binaryConstants, v *binaryVector, row binaryRowF32) {
	alpha, alphaNegs := binaryAlphas32(v, k, cols)
	kc := v.asmConsts
	for b := range loss {
		g, y, x := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		scale := v.scale
		if k.unknown.set {
			scale = binaryRowScale32(k, y)
			kc[11] = math.Float32bits(float32(scale))
		}
		sum, bail := row(g, y, x, alpha, alphaNegs, &kc, k.unknown.set, v.logits)
		if bail {
			loss[b] = float32(binaryRowPortableAny(g, y, x, k, v.logits))
			continue
		}
		loss[b] = float32(scale * sum)
	}
}

// binaryRowF32 runs one row of the binary variant's generated kernels:
// the gradient into g unless g is nil, the float64 sum of the loss terms,
// or bail where the kernel stopped. ignore says that the labels may hold
// the ignore value of kc.
type binaryRowF32 func(g, y, x, alpha, alphaNegs []float32, kc *[23]uint32, ignore, logits bool) (sum float64, bail bool)

// binaryRowF32x8 is the row in 8 float32 lanes with AVX2:
// avx2.BinaryProbGradF32, BinaryProbLossF32, BinaryLogitsGradF32 or
// BinaryLogitsLossF32, or with an ignore value their Binary*Ignore* forms.
func binaryRowF32x8(g, y, x, alpha, alphaNegs []float32, kc *[23]uint32, ignore, logits bool) (float64, bool) {
	var acc [8]float64
	var bail bool
	switch {
	case ignore && logits && g != nil:
		bail = avx2.BinaryLogitsIgnoreGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	case ignore && logits:
		bail = avx2.BinaryLogitsIgnoreLossF32(y, x, alpha, alphaNegs, kc, &acc)
	case ignore && g != nil:
		bail = avx2.BinaryProbIgnoreGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	case ignore:
		bail = avx2.BinaryProbIgnoreLossF32(y, x, alpha, alphaNegs, kc, &acc)
	case logits && g != nil:
		bail = avx2.BinaryLogitsGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	case logits:
		bail = avx2.BinaryLogitsLossF32(y, x, alpha, alphaNegs, kc, &acc)
	case g != nil:
		bail = avx2.BinaryProbGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	default:
		bail = avx2.BinaryProbLossF32(y, x, alpha, alphaNegs, kc, &acc)
	}
	return pairSum(acc[0:4], acc[4:8]), bail
}

// binaryRowF32x16 is binaryRowF32x8 in 16 float32 lanes with AVX-512,
// avx512's kernels of the same names (from the same description).
func binaryRowF32x16(g, y, x, alpha, alphaNegs []float32, kc *[23]uint32, ignore, logits bool) (float64, bool) {
	var acc [16]float64
	var bail bool
	switch {
	case ignore && logits && g != nil:
		bail = avx512.BinaryLogitsIgnoreGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	case ignore && logits:
		bail = avx512.BinaryLogitsIgnoreLossF32(y, x, alpha, alphaNegs, kc, &acc)
	case ignore && g != nil:
		bail = avx512.BinaryProbIgnoreGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	case ignore:
		bail = avx512.BinaryProbIgnoreLossF32(y, x, alpha, alphaNegs, kc, &acc)
	case logits && g != nil:
		bail = avx512.BinaryLogitsGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	case logits:
		bail = avx512.BinaryLogitsLossF32(y, x, alpha, alphaNegs, kc, &acc)
	case g != nil:
		bail = avx512.BinaryProbGradF32(g, y, x, alpha, alphaNegs, kc, &acc)
	default:
		bail = avx512.BinaryProbLossF32(y, x, alpha, alphaNegs, kc, &acc)
	}
	return pairSum(acc[0:8], acc[8:16]), bail
}

func asymmetricRowsF32(kernel string, loss, grad, labels, preds, weights []float32, cols int, k *asymmetricConstants) bool {
	switch kernel {
	case KernelAVX512:
		asymmetricRowsF32Vec(loss, grad, labels, preds, weights, cols, k, asymmetricRowF32x16)
	case KernelAVX2:
		asymmetricRowsF32Vec(loss, grad, labels, preds, weights, cols, k, asymmetricRowF32x8)
	default:
		return false
	}
	return true
}

// asymmetricRowsF32Vec runs float32 rows of the asymmetric variant with
// the vector kernels of one width, row (asymmetricRowF32x8 or
// asymmetricRowF32x16), every row, every parameter: probabilities and
// logits, both gradient modes, class weights or none, an ignore value or
// none, any clip, integer gammas by squaring and others (and soft labels)
// by exp(g*log u), in float32 as TensorFlow's float32 evaluation of the
// reference's formulas does; the loss terms go to float64 lane sums,
// added in lane order. A row the assembly stops on (u^g overflowing in
// float32, or a real power of a negative u: predictions outside [0, 1],
// unchecked) runs the reference loop asymmetricRow. Tested against
// asymmetricRow to SPEC's float32 tolerance
// (TestAsymmetricKernelsMatchReference, TestAsymmetricKernelsNonFinite).
func asymmetricRowsF32Vec(loss, grad, labels, preds, weights []float32, cols int, k *asymmetricConstants, row asymmetricRowF32) {
	v := newAsymmetricVector(k)
	cw := weights
	if len(cw) == 0 {
		cw = make([]float32, cols)
		for c := range cw {
			cw[c] = 1
		}
	}
	for b := range loss {
		g, y, x := rowSlice(grad, b, cols), rowSlice(labels, b, cols), rowSlice(preds, b, cols)
		sum, bail := row(g, y, x, cw, &v.asmConsts, k.logits)
		if bail {
			loss[b] = float32(asymmetricRow(g, y, x, weights, k))
			continue
		}
		loss[b] = float32(-sum)
	}
}

// asymmetricRowF32 runs one row of the asymmetric variant's vector
// kernels: the gradient into g unless g is nil, the sum of the loss terms
// (minus the row's loss), or bail where the kernel stopped.
type asymmetricRowF32 func(g, y, x, cw []float32, kc *[22]uint32, logits bool) (sum float64, bail bool)

// asymmetricRowF32x8 is the row in 8 float32 lanes with AVX2
// (avx2.AsymProbGradF32, AsymProbLossF32, AsymLogitsGradF32 or
// AsymLogitsLossF32).
func asymmetricRowF32x8(g, y, x, cw []float32, kc *[22]uint32, logits bool) (float64, bool) {
	var acc [8]float64
	var bail bool
	switch {
	case logits && g != nil:
		bail = avx2.AsymLogitsGradF32(g, y, x, cw, kc, &acc)
	case logits:
		bail = avx2.AsymLogitsLossF32(y, x, cw, kc, &acc)
	case g != nil:
		bail = avx2.AsymProbGradF32(g, y, x, cw, kc, &acc)
	default:
		bail = avx2.AsymProbLossF32(y, x, cw, kc, &acc)
	}
	return pairSum(acc[0:4], acc[4:8]), bail
}

// asymmetricRowF32x16 is the row in 16 float32 lanes with AVX-512
// (avx512.AsymProbGradF32, ...): the same description of the kernels in
// _asmgen (asym_f32.go) at the other width.
func asymmetricRowF32x16(g, y, x, cw []float32, kc *[22]uint32, logits bool) (float64, bool) {
	var acc [16]float64
	var bail bool
	switch {
	case logits && g != nil:
		bail = avx512.AsymLogitsGradF32(g, y, x, cw, kc, &acc)
	case logits:
		bail = avx512.AsymLogitsLossF32(y, x, cw, kc, &acc)
	case g != nil:
		bail = avx512.AsymProbGradF32(g, y, x, cw, kc, &acc)
	default:
		bail = avx512.AsymProbLossF32(y, x, cw, kc, &acc)
	}
	return pairSum(acc[0:8], acc[8:16]), bail
}

// binaryRowScale32 is binaryRowScale for a float32 row, its count taken by
// avx2.CountEqualF32.
func binaryRowScale32(k *binaryConstants, y []float32) float64 {
	known := len(y) - avx2.CountEqualF32(y, float32(k.unknown.value))
	if known == 0 {
		return 0
	}
	return 1 / float64(known)
}
