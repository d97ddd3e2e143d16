//go:build goexperiment.simd && !noasm

package goloss

import (
	"math"
	"simd/archsimd"
)

// binaryRow512F64 computes what binaryProbRow (or, with k.logits,
// binaryLogitsRow) computes, 8 lanes at a time, in one pass over the row:
// the loss terms and, when g is not nil, the gradient. x holds the
// probabilities or the logits. Each step is the reference's operation in
// the reference's order, except:
//
//   - logs, log1p and exp are the vector ones of vmath512_amd64.go;
//   - u^gamma for integer gamma is repeated multiplication, and
//     gamma*u^(gamma-1) replaces gamma*u^gamma/u (but where u^gamma
//     overflows, the latter's Inf is kept);
//   - on probabilities, dbce/dp = (1-t)/(1-q) - t/q is computed as
//     (q-t) / (q*(1-q)), one division and no cancellation;
//   - on logits, sigmoid(-|z|) = e/(1+e) is computed as e * (1/(1+e)).
//
// The loss terms run in lane accumulators added in lane order at the end,
// so a row gives the same bits on every call.
func binaryRow512F64(g, y, x []float64, k *binaryVector) float64 {
	n := len(x)
	zero := archsimd.BroadcastFloat64x8(0)
	one := archsimd.BroadcastFloat64x8(1)
	two := archsimd.BroadcastFloat64x8(2)
	keep := archsimd.BroadcastFloat64x8(k.keep)
	half := archsimd.BroadcastFloat64x8(k.half)
	eps := archsimd.BroadcastFloat64x8(k.eps)
	epsHi := archsimd.BroadcastFloat64x8(k.epsHi)
	gamma := archsimd.BroadcastFloat64x8(k.gamma)
	gammaMinus1 := archsimd.BroadcastFloat64x8(k.gamma - 1)
	inf := archsimd.BroadcastFloat64x8(math.Inf(1))
	tiny := archsimd.BroadcastFloat64x8(0x1p-1022)
	scale := archsimd.BroadcastFloat64x8(k.scale)
	alpha := archsimd.BroadcastFloat64x8(k.alpha1)
	alphaNeg := archsimd.BroadcastFloat64x8(1 - k.alpha1)
	al := k.alpha
	withGrad := g != nil
	acc := zero
	for i := 0; i < n; i += lanes512 {
		xv := load512F64(x[i:])
		t := load512F64(y[i:]).Mul(keep).Add(half)
		oneMinusT := one.Sub(t)

		// bce, u = 1 - pt, and the factors of the gradient: du/dx
		// (without its focal factor) and dbce/dx.
		var bce, u, du, dbce archsimd.Float64x8
		if k.logits {
			// exp512 and log1pJoin512, written out so that the
			// compiler inlines them.
			r, kf := expSplit512(neg512(abs512(xv)))
			e := expScale512(expPolyLow512(expPolyHigh512(r), r), kf)
			d := one.Add(e)
			big := one.Div(d)
			small := e.Mul(big)
			right := xv.GreaterEqual(zero)
			sig, sigNeg := big.Merge(small, right), small.Merge(big, right)
			maxZ := zero.Merge(xv, xv.Less(zero))
			f, dk := logSplit512(d, zero)
			ls, lh, lr := logPoly512(f)
			bce = maxZ.Sub(xv.Mul(t)).Add(log1pFinish512(e, d, big, f, dk, ls, lh, lr))
			u = t.Mul(sigNeg).Add(oneMinusT.Mul(sig))
			if withGrad {
				du = one.Sub(two.Mul(t)).Mul(sig).Mul(sigNeg)
				dbce = oneMinusT.Mul(sig).Sub(t.Mul(sigNeg))
			}
		} else {
			q := clip512(xv, eps, epsHi)
			oneMinusQ := one.Sub(q)
			// logCore512 twice, written out so that the compiler inlines it.
			f, dk := logSplit512(q, zero)
			ls, lh, lr := logPoly512(f)
			logQ := logJoin512(f, dk, ls, lh, lr).Add(q.Sub(q))
			f, dk = logSplit512(oneMinusQ, zero)
			ls, lh, lr = logPoly512(f)
			logQNeg := logJoin512(f, dk, ls, lh, lr).Add(q.Sub(q))
			bce = neg512(t.Mul(logQ).Add(oneMinusT.Mul(logQNeg)))
			u = t.Mul(one.Sub(xv)).Add(oneMinusT.Mul(xv))
			if withGrad {
				du = one.Sub(two.Mul(t))
				inClip := xv.GreaterEqual(eps).And(xv.LessEqual(epsHi))
				dbce = q.Sub(t).Div(q.Mul(oneMinusQ)).Masked(inClip)
			}
		}

		// pow = u^gamma and dpow = gamma * u^(gamma-1), the latter at its
		// limit where u = 0.
		var pow, dpow archsimd.Float64x8
		switch k.powKind {
		case powZero:
			pow, dpow = one, zero
		case powInt:
			pm1 := one // u^(gamma-1) by squaring
			base := u
			for e := k.powInt - 1; e != 0; e >>= 1 {
				if e&1 != 0 {
					pm1 = pm1.Mul(base)
				}
				if e > 1 {
					base = base.Mul(base)
				}
			}
			pow, dpow = pm1.Mul(u), gamma.Mul(pm1)
			if over := abs512(pow).Equal(inf); over.ToBits() != 0 {
				// The reference's gamma*pow/u is infinite there.
				dpow = gamma.Mul(pow).Div(u).Merge(dpow, over)
			}
			// u - u turns an infinite u into NaN, as the reference's
			// pow/u does.
			dpow = dpow.Add(u.Sub(u))
		default:
			logU := log512(u)
			pow = exp512(gamma.Mul(logU))
			dpow = gamma.Mul(pow).Div(u).Masked(u.NotEqual(zero))
			if under := abs512(pow).Less(tiny).And(u.NotEqual(zero)); under.ToBits() != 0 {
				// u^gamma underflowed where u^(gamma-1) may not have.
				dpm1 := gamma.Mul(exp512(gammaMinus1.Mul(logU))).Add(u.Sub(u))
				dpow = dpm1.Merge(dpow, under)
			}
		}

		// a, the class-balancing weight.
		var a archsimd.Float64x8
		switch k.alphaKind {
		case alphaNone:
			a = one
		case alphaOne:
			a = t.Mul(alpha).Add(oneMinusT.Mul(alphaNeg))
		default:
			av := load512F64(al[i:])
			a = t.Mul(av).Add(oneMinusT.Mul(one.Sub(av)))
		}

		// x - x is 0, or NaN for an infinite or NaN x: SPEC's NaN for
		// non-finite inputs, in the loss and the gradient, as the
		// reference adds it.
		poison := xv.Sub(xv)
		term := a.Mul(pow).Mul(bce).Add(poison)
		if i+lanes512 > n {
			term = term.Masked(tailMask512(n - i))
		}
		acc = acc.Add(term)
		if withGrad {
			gv := scale.Mul(a).Mul(dpow.Mul(du).Mul(bce).Add(pow.Mul(dbce))).Add(poison)
			store512F64(g[i:], gv)
		}
	}
	archsimd.ClearAVXUpperBits()
	return k.scale * sum512(acc)
}
