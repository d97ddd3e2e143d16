//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"simd/archsimd"
)

// lanes512x16 is the number of float32 lanes of seedRow512F32x16.
const lanes512x16 = 16

// seedRow512F32x16 computes what seedRow computes for float32 inputs, in 16
// float32 lanes, as TensorFlow's float32 evaluation of the seed composite
// does: the logs, the powers and 1/p in float32. The row sums (S, the focal
// sum, the log sum) run in float64 accumulators, and the clip decisions on
// p/S are the reference's (float64 S and p/S): the float32 p/S decides them
// except within a narrow band around each bound, where p/S is recomputed in
// float64. Results agree with the float64 reference to a few float32 ulp of
// the terms' magnitudes. A row gives the same bits on every call.
//
// After S, rows whose S is finite and not tiny (nearly all) take
// seedRowFast512F32x16; the others (NaN or Inf inputs, S = 0, subnormal
// p/S) take seedRowGeneral512F32x16.
func seedRow512F32x16(g, y, p, w []float32, masks []uint16, k *seedVector) float64 {
	sum, maxP := seedRowSum512F32(p)
	if fastRow(sum) {
		return seedRowFast512F32x16(g, y, p, w, masks, k, sum, maxP)
	}
	return seedRowGeneral512F32x16(g, y, p, w, masks, k, sum)
}

// seedRowSum512F32 returns the sum S of a row, its 16-lane float32 vectors
// widened and added to two float64 accumulators (lanes 0-7 and 8-15), which
// are added lane by lane, in order; and the row's largest p, at least 0, or
// +Inf when not known (the archsimd path).
func seedRowSum512F32(p []float32) (sum float64, maxP float32) {
	if passesInGo {
		zero64 := archsimd.BroadcastFloat64x8(0)
		sumLo, sumHi := zero64, zero64
		for i := 0; i < len(p); i += lanes512x16 {
			sumLo, sumHi = addF32x16To64(sumLo, sumHi, archsimd.LoadFloat32x16SlicePart(p[i:]))
		}
		sum = sum512(sumLo.Add(sumHi))
		archsimd.ClearAVXUpperBits()
		return sum, float32(math.Inf(1))
	}
	return seedSumF32AVX512(p) // the same loop in assembly
}

// seedRowGeneral512F32x16 is seedRow512F32x16 for any row, given its sum.
// Three passes: (1) S, given; (2) the loss terms, M, the focal gradient,
// written into g, and the clip masks of p/S into masks (one per 16 lanes);
// (3) g += the smoothing gradient e/C * (M/S - [inside]/p).
func seedRowGeneral512F32x16(g, y, p, w []float32, masks []uint16, k *seedVector, sum float64) float64 {
	n := len(p)
	zero64 := archsimd.BroadcastFloat64x8(0)
	zero := archsimd.BroadcastFloat32x16(0)
	one := archsimd.BroadcastFloat32x16(1)
	sum32 := float32(sum)
	sv := archsimd.BroadcastFloat32x16(sum32)
	// A float32 S that overflowed or is not normal is no good for p/S:
	// then every vector takes the float64 p/S.
	slowRatio := sum32 < 0x1p-126 && sum > 0 || math.IsInf(float64(sum32), 0) && !math.IsInf(sum, 0)
	sum64 := archsimd.BroadcastFloat64x8(sum)
	ratioLo64 := archsimd.BroadcastFloat64x8(k.ratioLo)
	ratioHi64 := archsimd.BroadcastFloat64x8(k.ratioHi)
	const bandRel = 0x1p-20
	bandLoLo := archsimd.BroadcastFloat32x16(float32(k.ratioLo * (1 - bandRel)))
	bandLoHi := archsimd.BroadcastFloat32x16(float32(k.ratioLo * (1 + bandRel)))
	bandHiLo := archsimd.BroadcastFloat32x16(float32(k.ratioHi * (1 - bandRel)))
	bandHiHi := archsimd.BroadcastFloat32x16(float32(k.ratioHi * (1 + bandRel)))
	logLo := archsimd.BroadcastFloat32x16(float32(k.logLo))
	ratioLo := archsimd.BroadcastFloat32x16(float32(k.ratioLo))
	ratioHi := archsimd.BroadcastFloat32x16(float32(k.ratioHi))
	// gamma = gammaHi + gammaLo, so that gamma*log(diff) loses nothing to
	// the rounding of gamma to float32.
	gammaHi := float32(k.gamma)
	gammaHiV := archsimd.BroadcastFloat32x16(gammaHi)
	gammaLoV := archsimd.BroadcastFloat32x16(float32(k.gamma - float64(gammaHi)))
	ldMin, ldMax := archsimd.BroadcastFloat32x16(-1000), archsimd.BroadcastFloat32x16(1000)
	focalScale := archsimd.BroadcastFloat32x16(float32(k.focalScale))
	smoothW := archsimd.BroadcastFloat32x16(float32(k.smoothW))
	withGrad := g != nil
	focalLo, focalHi, logLo64, logHi64 := zero64, zero64, zero64, zero64
	insideAcc, oneI := archsimd.BroadcastInt32x16(0), archsimd.BroadcastInt32x16(1)
	for i := 0; i < n; i += lanes512x16 {
		pv := archsimd.LoadFloat32x16SlicePart(p[i:])
		yv := archsimd.LoadFloat32x16SlicePart(y[i:])
		pos := yv.Greater(zero)
		gv := zero
		// As in seedRow512F64: a vector without a positive label skips the
		// focal term, whose lanes would all be +0.
		if pos.ToBits() != 0 {
			wv := archsimd.LoadFloat32x16SlicePart(w[i:])
			pc := clipF32x16(pv, logLo, one)
			// logCoreF32x16, written out so that the compiler inlines it.
			fp, kp := logSplitF32x16(pc, zero)
			logP := logPolyF32x16(fp, kp).Add(pc.Sub(pc))
			diff := yv.Sub(pv)

			// pow = diff^gamma and dpow = gamma * diff^(gamma-1), the
			// latter at its limit where diff = 0.
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
				// diff - diff turns an infinite diff into NaN, as the
				// reference's pow/diff does.
				pow, dpow = pm1.Mul(diff), gammaHiV.Mul(pm1).Add(diff.Sub(diff))
			default:
				// logF32x16 and expF32x16, written out so that the
				// compiler inlines them.
				sd, kadj := logPrepF32x16(diff)
				fd, kd := logSplitF32x16(sd, kadj)
				ld := logFixF32x16(diff, logPolyF32x16(fd, kd))
				// The correction ld*gammaLo, on ld bounded so that it
				// stays finite where ld is ±Inf (diff 0 or +Inf).
				corr := ld.Max(ldMin).Min(ldMax).Mul(gammaLoV)
				r, kf, under := expSplitF32x16(ld.MulAdd(gammaHiV, corr))
				pow = expScaleF32x16(expPolyF32x16(r), kf, under)
				dpow = gammaHiV.Mul(pow).Div(diff).Masked(diff.NotEqual(zero))
			}
			focalLo, focalHi = addF32x16To64(focalLo, focalHi, wv.Mul(pow).Mul(logP).Masked(pos))

			if withGrad {
				inLog := pv.GreaterEqual(logLo).And(pv.LessEqual(one))
				deriv := dpow.Mul(logP).Sub(pow.Div(pv).Masked(inLog))
				gv = focalScale.Mul(wv).Mul(deriv).Masked(pos)
			}
		}

		q := pv.Div(sv)
		in := q.GreaterEqual(ratioLo).And(q.LessEqual(ratioHi))
		// The clip decisions are the reference's, on p/S in float64:
		// float32 p/S (S rounded) is within 2 ulp of it, so they can only
		// differ within bandRel of a bound, where (rarely) the vector's
		// p/S is recomputed in float64.
		near := q.Greater(bandLoLo).And(q.Less(bandLoHi)).Or(q.Greater(bandHiLo).And(q.Less(bandHiHi)))
		if slowRatio || near.ToBits() != 0 {
			q, in = ratioExactF32x16(pv, sum64, ratioLo64, ratioHi64)
		}
		insideAcc = insideAcc.Add(oneI.Masked(in))
		qc := clipF32x16(q, ratioLo, ratioHi)
		fq, kq := logSplitF32x16(qc, zero)
		logQ := logPolyF32x16(fq, kq).Add(qc.Sub(qc))
		if i+lanes512x16 > n {
			logQ = logQ.Masked(archsimd.Mask32x16FromBits(uint16(1)<<(n-i) - 1))
		}
		logLo64, logHi64 = addF32x16To64(logLo64, logHi64, logQ)

		if withGrad {
			gv.StoreSlicePart(g[i:])
			masks[i/lanes512x16] = in.ToBits()
		}
	}
	focal := -sum512(focalLo.Add(focalHi))
	logSum := sum512(logLo64.Add(logHi64))
	var counts [16]int32
	insideAcc.Store(&counts)
	inside := 0
	for _, c := range counts {
		inside += int(c)
	}

	if withGrad {
		// The smoothing gradient e/C * (M/S - [inside]/p) of a flat row
		// cancels to 0: M/S is carried as aHi + aLo and 1/p as r - r*res
		// (res = p*r - 1, exact by FMA), and aHi - r is exact where they
		// are close, so the difference keeps its accuracy relative to the
		// result, not only to its terms.
		a := float64(inside) / sum
		aHi := float32(a)
		aHiV := archsimd.BroadcastFloat32x16(aHi)
		aLoV := archsimd.BroadcastFloat32x16(float32(a - float64(aHi)))
		shared := archsimd.BroadcastFloat32x16(float32(sharedTerm(k.smoothW, float64(inside), sum)))
		negOne := archsimd.BroadcastFloat32x16(-1)
		for i := 0; i < n; i += lanes512x16 {
			pv := archsimd.LoadFloat32x16SlicePart(p[i:])
			gv := archsimd.LoadFloat32x16SlicePart(g[i:])
			in := archsimd.Mask32x16FromBits(masks[i/lanes512x16])
			r := one.Div(pv)
			res := pv.MulAdd(r, negOne)
			d := aHiV.Sub(r).Add(r.Mul(res)).Add(aLoV)
			gv.Add(smoothW.Mul(d).Merge(shared, in)).StoreSlicePart(g[i:])
		}
	}
	archsimd.ClearAVXUpperBits()
	return k.focalScale*focal - k.smoothW*logSum
}

// ratioExactF32x16 returns p/S rounded to float32 and the mask of the lanes
// whose p/S lies in [lo, hi], both from p/S computed in float64 as seedRow
// computes it.
func ratioExactF32x16(p archsimd.Float32x16, s, lo, hi archsimd.Float64x8) (archsimd.Float32x16, archsimd.Mask32x16) {
	qLo := p.GetLo().ConvertToFloat64().Div(s)
	qHi := p.GetHi().ConvertToFloat64().Div(s)
	inLo := qLo.GreaterEqual(lo).And(qLo.LessEqual(hi)).ToBits()
	inHi := qHi.GreaterEqual(lo).And(qHi.LessEqual(hi)).ToBits()
	q := p.SetLo(qLo.ConvertToFloat32()).SetHi(qHi.ConvertToFloat32())
	return q, archsimd.Mask32x16FromBits(uint16(inLo) | uint16(inHi)<<8)
}
