//go:build goexperiment.simd && !noasm

package goloss

//go:generate sh -c "cd _asmgen && go run . -out ../seedasm512_amd64.s -stubs ../seedasm512_stub_amd64.go -pkg goloss"

import (
	"math"
	mbits "math/bits"
	"simd/archsimd"
)

// fastRowMinSum is the least row sum S that seedRowFast512F32x16 takes: every
// p with p/S >= 1e-7 is then a normal float32, so its log needs no scaling.
const fastRowMinSum = 1e-30

// seedRowFast512F32x16 is seedRow512F32x16 for rows whose sum S is finite,
// at least fastRowMinSum and finite in float32 (so every p is finite too).
// It takes one logarithm and one reciprocal per element, where the general
// kernel takes log(p/S), p/S and 1/p and, in vectors with a positive label,
// log(p) and pow/p:
//
//   - log q = log p - log S wherever p/S lies inside its clip range, so the
//     row's smoothing sum is the sum of log p over those lanes, minus M*log S
//     (float64), plus the clip bounds' logs times the number of lanes at
//     each bound; the focal term's log(clip(p, 1e-8, 1)) is the same log p
//     clipped;
//   - 1/p is VRCP14PS refined by one Newton step with the residual
//     p*r - 1 (FMA), which the smoothing gradient needs anyway to keep its
//     cancellation exact (see seedRow512F32x16);
//   - M and the clip masks come first, in a pass of their own, so that the
//     gradient is written once, in the pass that computes the loss.
//
// log p - log S differs from float32 log(p/S) by the rounding of p/S (a
// few 1e-8 absolute), as TensorFlow's float32 evaluation does.
func seedRowFast512F32x16(g, y, p, w []float32, masks []uint16, k *seedVector, sum float64, maxP float32) float64 {
	// Pass 2: which lanes have p/S inside [ratioLo, ratioHi] (their mask,
	// M) and how many lie above it.
	var inside, above int
	if passesInGo {
		inside, above = seedMasksGo(p, masks, k, sum)
	} else {
		// The same loop in assembly (seedasm512_amd64.s).
		kc := k.asmMasks
		kc[0] = math.Float32bits(float32(1 / sum))
		b := math.Float64bits(sum)
		kc[8], kc[9] = uint32(b), uint32(b>>32)
		// Where even the largest p/S (p*(1/S) in float32 grows with p) lies
		// below the band of the upper bound, only the lower one decides.
		if maxP*math.Float32frombits(kc[0]) < math.Float32frombits(kc[5]) {
			inside, above = seedMasksLowF32AVX512(p, masks, &kc)
		} else {
			inside, above = seedMasksF32AVX512(p, masks, &kc)
		}
	}

	// Pass 3: the loss terms and the gradient. The smoothing gradient
	// e/C * (M/S - [inside]/p) takes M/S as aHi + aLo and 1/p as r - r*res,
	// as in seedRow512F32x16.
	a := float64(inside) / sum
	aHi := float32(a)
	aLo := float32(a - float64(aHi))
	shared := float32(sharedTerm(k.smoothW, float64(inside), sum))
	var acc [32]float64 // float64 lane sums: focal lo, hi, log p lo, hi
	switch {
	case k.powKind == powReal || passesInGo:
		seedMainGo(g, y, p, w, masks, k, aHi, aLo, shared, &acc)
	case g != nil:
		// The same loop in assembly, for integer gamma.
		kc := k.asmMain
		kc[0], kc[1], kc[2] = math.Float32bits(aHi), math.Float32bits(aLo), math.Float32bits(shared)
		seedMainGradF32AVX512(g, y, p, w, masks, &kc, &acc)
	default:
		kc := k.asmMain
		kc[0], kc[1], kc[2] = math.Float32bits(aHi), math.Float32bits(aLo), math.Float32bits(shared)
		seedMainLossF32AVX512(y, p, w, masks, &kc, &acc)
	}
	// sum512(lo.Add(hi)), in scalar code.
	var focal, logP float64
	for j := range 8 {
		focal += acc[j] + acc[8+j]
		logP += acc[16+j] + acc[24+j]
	}
	below := len(p) - inside - above
	logSum := logP - float64(inside)*math.Log(sum) + float64(below)*k.logRatioLo32 + float64(above)*k.logRatioHi32
	return -k.focalScale*focal - k.smoothW*logSum
}

// bandRel is the relative distance to a clip bound of p/S within which the
// float32 kernel decides in float64 whether p/S is inside.
const bandRel = 0x1p-20

// seedMasksGo is the second pass of seedRowFast512F32x16: it writes the
// clip masks of p/S and returns how many lanes lie inside the clip range
// and how many above it. p/S = p * (1/S) in float32 is within 2 ulp of the
// float64 p/S that decides in the reference, so lanes within bandRel of a
// bound are decided in float64.
func seedMasksGo(p []float32, masks []uint16, k *seedVector, sum float64) (inside, above int) {
	invS := archsimd.BroadcastFloat32x16(float32(1 / sum))
	ratioLo := archsimd.BroadcastFloat32x16(float32(k.ratioLo))
	ratioHi := archsimd.BroadcastFloat32x16(float32(k.ratioHi))
	half := archsimd.BroadcastFloat32x16(0.5)
	bandLoLo := archsimd.BroadcastFloat32x16(float32(k.ratioLo * (1 - bandRel)))
	bandLoHi := archsimd.BroadcastFloat32x16(float32(k.ratioLo * (1 + bandRel)))
	bandHiLo := archsimd.BroadcastFloat32x16(float32(k.ratioHi * (1 - bandRel)))
	bandHiHi := archsimd.BroadcastFloat32x16(float32(k.ratioHi * (1 + bandRel)))
	sum64 := archsimd.BroadcastFloat64x8(sum)
	ratioLo64 := archsimd.BroadcastFloat64x8(k.ratioLo)
	ratioHi64 := archsimd.BroadcastFloat64x8(k.ratioHi)
	for i := 0; i < len(p); i += lanes512x16 {
		pv := archsimd.LoadFloat32x16SlicePart(p[i:])
		q := pv.Mul(invS)
		in := q.GreaterEqual(ratioLo).And(q.LessEqual(ratioHi))
		near := q.Greater(bandLoLo).And(q.Less(bandLoHi)).Or(q.Greater(bandHiLo).And(q.Less(bandHiHi)))
		if near.ToBits() != 0 {
			_, in = ratioExactF32x16(pv, sum64, ratioLo64, ratioHi64)
		}
		inBits := in.ToBits()
		// A lane outside the range lies above it where p/S > 1/2.
		above += mbits.OnesCount16(q.Greater(half).ToBits() &^ inBits)
		inside += mbits.OnesCount16(inBits)
		masks[i/lanes512x16] = inBits
	}
	archsimd.ClearAVXUpperBits()
	return inside, above
}

// seedMainGo is the main pass of seedRowFast512F32x16, for any gamma: it
// stores in acc the float64 lane sums of the focal terms (acc[0:16]) and of
// log p where masks marks p/S inside its clip range (acc[16:32]), and
// writes the gradient into g unless g is nil.
func seedMainGo(g, y, p, w []float32, masks []uint16, k *seedVector, aHi, aLo, shared float32, acc *[32]float64) {
	zero := archsimd.BroadcastFloat32x16(0)
	one := archsimd.BroadcastFloat32x16(1)
	negOne := archsimd.BroadcastFloat32x16(-1)
	minNormal := archsimd.BroadcastFloat32x16(0x1p-126)
	zero64 := archsimd.BroadcastFloat64x8(0)
	pLo := archsimd.BroadcastFloat32x16(float32(k.logLo))
	logPLo := archsimd.BroadcastFloat32x16(k.logPLo32)
	gammaHi := float32(k.gamma)
	gammaHiV := archsimd.BroadcastFloat32x16(gammaHi)
	gammaLoV := archsimd.BroadcastFloat32x16(float32(k.gamma - float64(gammaHi)))
	ldMin, ldMax := archsimd.BroadcastFloat32x16(-1000), archsimd.BroadcastFloat32x16(1000)
	focalScale := archsimd.BroadcastFloat32x16(float32(k.focalScale))
	smoothW := archsimd.BroadcastFloat32x16(float32(k.smoothW))
	aHiV := archsimd.BroadcastFloat32x16(aHi)
	aLoV := archsimd.BroadcastFloat32x16(aLo)
	sharedV := archsimd.BroadcastFloat32x16(shared)
	withGrad := g != nil
	focalLo, focalHi, logLo64, logHi64 := zero64, zero64, zero64, zero64
	// The lane sums run in float32 over blocks of sumBlock vectors, each
	// then added, widened, to the float64 sums.
	focal32, log32 := zero, zero
	for i := 0; i < len(p); i += lanes512x16 {
		pv := archsimd.LoadFloat32x16SlicePart(p[i:])
		yv := archsimd.LoadFloat32x16SlicePart(y[i:])
		in := archsimd.Mask32x16FromBits(masks[i/lanes512x16])
		// log p, for p a positive normal float32; other lanes get log of
		// the smallest normal and are not used as such.
		pn := pv.Max(minNormal)
		fp, kp := logSplitF32x16(pn, zero)
		logP := logPolyF32x16(fp, kp)
		log32 = log32.Add(logP).Merge(log32, in)

		var gv, r, res archsimd.Float32x16
		if withGrad {
			r = pv.Reciprocal()
			res = pv.MulAdd(r, negOne)
			d := aHiV.Sub(r).Add(r.Mul(res)).Add(aLoV)
			gv = smoothW.Mul(d).Merge(sharedV, in)
		}
		pos := yv.Greater(zero)
		// A vector without a positive label has no focal term.
		if pos.ToBits() != 0 {
			wv := archsimd.LoadFloat32x16SlicePart(w[i:])
			// log(clip(p, 1e-8, 1)) from log p.
			logPc := logP.Max(logPLo).Min(zero)
			diff := yv.Sub(pv)
			var pow, dpow archsimd.Float32x16
			switch k.powKind {
			case powZero:
				pow, dpow = one, zero
			case powInt:
				pm1 := one // diff^(gamma-1) by squaring
				base := diff
				for e := k.powInt - 1; e != 0; e >>= 1 {
					if e&1 != 0 {
						pm1 = pm1.Mul(base)
					}
					if e > 1 {
						base = base.Mul(base)
					}
				}
				// diff - diff turns an infinite diff (an infinite label)
				// into NaN, as the reference's pow/diff does.
				pow, dpow = pm1.Mul(diff), gammaHiV.Mul(pm1).Add(diff.Sub(diff))
			default:
				sd, kadj := logPrepF32x16(diff)
				fd, kd := logSplitF32x16(sd, kadj)
				ld := logFixF32x16(diff, logPolyF32x16(fd, kd))
				corr := ld.Max(ldMin).Min(ldMax).Mul(gammaLoV)
				rr, kf, under := expSplitF32x16(ld.MulAdd(gammaHiV, corr))
				pow = expScaleF32x16(expPolyF32x16(rr), kf, under)
				dpow = gammaHiV.Mul(pow).Div(diff).Masked(diff.NotEqual(zero))
			}
			focal32 = focal32.Add(wv.Mul(pow).Mul(logPc)).Merge(focal32, pos)
			if withGrad {
				inLog := pv.GreaterEqual(pLo).And(pv.LessEqual(one))
				recip := r.Sub(r.Mul(res))
				deriv := dpow.Mul(logPc).Sub(pow.Mul(recip).Masked(inLog))
				// Lanes without a positive label keep gv's bits (a -0
				// too), as in the assembly, which computes every vector.
				gv = gv.Add(focalScale.Mul(wv).Mul(deriv)).Merge(gv, pos)
			}
		}
		if withGrad {
			gv.StoreSlicePart(g[i:])
		}
		if i/lanes512x16%sumBlock == sumBlock-1 || i+lanes512x16 >= len(p) {
			focalLo, focalHi = addF32x16To64(focalLo, focalHi, focal32)
			logLo64, logHi64 = addF32x16To64(logLo64, logHi64, log32)
			focal32, log32 = zero, zero
		}
	}
	focalLo.Store((*[8]float64)(acc[0:8]))
	focalHi.Store((*[8]float64)(acc[8:16]))
	logLo64.Store((*[8]float64)(acc[16:24]))
	logHi64.Store((*[8]float64)(acc[24:32]))
	archsimd.ClearAVXUpperBits()
}

// sumBlock is the number of vectors of 16 lanes whose loss terms the
// float32 seed kernel adds in float32 before it adds them, widened, to its
// float64 sums: 8 terms per lane keep the rounding of those partial sums
// near that of the terms themselves, while the widening (two conversions,
// an extract and two float64 adds per sum) is paid once per 8 vectors.
const sumBlock = 8

// seedAsmConsts sets k.asmMasks and k.asmMain, the constants of the
// assembly passes (seedasm512_amd64.s, generated by _asmgen) that every row
// shares; each row sets its own in a copy. asmMasks: float32 1/S (per row),
// ratioLo, ratioHi, the band bounds ratioLo*(1 -+ bandRel) and
// ratioHi*(1 -+ bandRel), then float64 S (per row), ratioLo and ratioHi.
// asmMain: float32 aHi, aLo and shared (per row), smoothW, focalScale,
// gamma, the focal clip bound 1e-8 and its log, then the integer gamma as
// an int64 (0: pow 1 and dpow 0).
func seedAsmConsts(k *seedVector) {
	for i, v := range []float64{0, k.ratioLo, k.ratioHi, k.ratioLo * (1 - bandRel), k.ratioLo * (1 + bandRel),
		k.ratioHi * (1 - bandRel), k.ratioHi * (1 + bandRel)} {
		k.asmMasks[i] = math.Float32bits(float32(v))
	}
	for i, v := range []float64{0, k.ratioLo, k.ratioHi} {
		b := math.Float64bits(v)
		k.asmMasks[8+2*i], k.asmMasks[9+2*i] = uint32(b), uint32(b>>32)
	}
	for i, v := range []float32{0, 0, 0, float32(k.smoothW), float32(k.focalScale),
		float32(k.gamma), float32(k.logLo), k.logPLo32} {
		k.asmMain[i] = math.Float32bits(v)
	}
	nPow := uint64(0)
	if k.powKind == powInt {
		nPow = k.powInt
	}
	k.asmMain[8], k.asmMain[9] = uint32(nPow), uint32(nPow>>32)
}
