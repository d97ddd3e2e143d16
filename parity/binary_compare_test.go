//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/gofocal/gofocal/goloss"
)

// binaryAnalysis is what a binary case's inputs say about each value, from
// SPEC's formulas evaluated in float64 on the inputs rounded to T.
//
// The tolerance is the seed tests' (see tolerance): a value passes when
// |got - want| <= max(rel * mag, abs), mag >= |want|. Here mag is a
// first-order bound, in units of the unit roundoff, on what rounding does
// to the value in any evaluation of the formula, the reference's included:
// the sum of the magnitudes of the terms the value adds up, plus, for each
// intermediate that an evaluation forms by cancellation, |d value / d
// intermediate| times the magnitudes of the terms the intermediate is the
// difference of. Where nothing cancels, mag = |want| and this is SPEC's
// plain relative tolerance. The cancellations:
//
//   - u = 1 - pt on probabilities: Keras subtracts pt from 1, so u carries
//     an error of an ulp of 1 (terms 1 and pt), whatever u is. In float32,
//     t = 0 and p = 1e-7 gives u = 1.19e-7, 19% off; with gamma = 0.5 the
//     gradient term gamma * u^(gamma-1) * bce is then 8% off. The core
//     computes u = t*(1-p) + (1-t)*p, without the cancellation.
//   - log(1 - q): 1 - q is rounded, so the log carries an absolute error of
//     an ulp of 1, which is all of bce = -log(1 - q) ≈ q's digits at tiny q
//     with t = 0.
//   - bce on logits, max(z, 0) - z*t + log1p(exp(-|z|)): the first two
//     terms cancel for a right positive logit, and so does the derivative
//     as TensorFlow's autodiff adds it up, [z >= 0] - t - sigmoid(-|z|):
//     for t = 1 and z = 27 that is 1 - 1 - 1.9e-12, summed in an order that
//     leaves about four digits in float64. The core computes
//     (1-t)*sigmoid(z) - t*sigmoid(-z).
//   - d sigmoid(z)/dz: TensorFlow's SigmoidGrad is y * (1 - y), which
//     cancels for y near 1.
//   - t = y*(1-ls) + ls/2 rounded to T: it moves bce and u by an ulp of t.
//
// u's error enters through u^gamma and its derivative, which for gamma < 1
// are far from linear near u = 0: there mag takes how far they move over
// u's error (and to TensorFlow's own u in T) rather than derivative times
// error.
type binaryAnalysis struct {
	lossMag []float64 // per row
	gradMag []float64 // per element
	// undefined marks elements where TensorFlow's autodiff has no value:
	// 1 - pt, as TensorFlow computes it in T, is 0 and gamma < 1 (SPEC).
	undefined []bool
	// negative counts elements where TensorFlow's 1 - pt in T is below 0
	// (pt rounded above 1): pow of it is NaN for a non-integer gamma. The
	// cases are drawn so that none arise; the tests check that.
	negative int
}

func analyseBinary[T goloss.Float](c binaryCase, d typedBinary[T]) binaryAnalysis {
	rows, cols := c.rows, c.cols
	a := binaryAnalysis{
		lossMag:   make([]float64, rows),
		gradMag:   make([]float64, rows*cols),
		undefined: make([]bool, rows*cols),
	}
	gamma, ls := c.prm.Gamma, c.prm.LabelSmoothing
	keep, half := 1-ls, 0.5*ls
	keepT, halfT := T(keep), T(half)
	lo, hi := float64(T(1e-7)), float64(T(1-1e-7))
	eps := epsilon[T]()
	for i := range d.preds {
		y, x := float64(d.labels[i]), float64(d.preds[i])
		t := y*keep + half
		weight := 1.0
		if n := len(c.prm.Alpha); n > 0 {
			alpha := c.prm.Alpha[min(i%cols, n-1)]
			weight = t*alpha + (1-t)*(1-alpha)
		}
		scale := weight / float64(cols)

		// TensorFlow's 1 - pt in T, as the reference computes it (explicit
		// conversions round every step and prevent fused multiply-adds).
		tT := T(T(d.labels[i]*keepT) + halfT)
		var uT T
		var bce, bceMag, dbce, dbceMag, u, uMag, du, duMag float64
		if !c.prm.FromLogits {
			p := d.preds[i]
			uT = T(1 - T(T(tT*p)+T(T(1-tT)*T(1-p))))
			q := math.Min(math.Max(x, lo), hi)
			logQ, log1Q := math.Log(q), math.Log1p(-q)
			bce = -(t*logQ + (1-t)*log1Q)
			bceMag = t*(math.Abs(logQ)+math.Abs(log1Q)) + (1-t)*(math.Abs(log1Q)+1)
			if lo <= x && x <= hi {
				dbce = (1-t)/(1-q) - t/q
				dbceMag = (1-t)/(1-q) + t/q
			}
			u = t*(1-x) + (1-t)*x
			uMag = 2 - u + t // Keras's 1 - pt: terms 1 and pt = 1 - u
			du, duMag = 1-2*t, 1
		} else {
			s, sNeg := sigmoids(x)
			uT = T(T(tT*T(sNeg)) + T(T(1-tT)*T(s)))
			e := math.Exp(-math.Abs(x))
			softplus := math.Log1p(e)
			bce = math.Max(x, 0) - x*t + softplus
			bceMag = math.Max(x, 0) + 2*math.Abs(x)*t + softplus
			dbce = (1-t)*s - t*sNeg
			dbceMag = t + e/(1+e) // the where spelling: [z >= 0] - t - sigmoid(-|z|)
			if x >= 0 {
				dbceMag++
			}
			u = t*sNeg + (1-t)*s
			uMag = u + t
			du = (1 - 2*t) * s * sNeg
			duMag = t*sNeg*(1+sNeg) + (1-t)*s*(1+s) // SigmoidGrad: y * (1 - y)
		}
		if uT < 0 {
			a.negative++
		}
		a.undefined[i] = uT == 0 && gamma < 1

		// u's error: an ulp of each term, and TensorFlow's own 1 - pt in T.
		// The derivative is unbounded at 0 for gamma < 1: for it only
		// TensorFlow's u counts there, and where that is 0 the gradient is
		// SPEC's exception.
		delta := eps * uMag
		pow, dpow := powers(u, gamma)
		var powErr, dpowErr float64
		for _, v := range []float64{max(u-delta, 0), u + delta, float64(uT)} {
			p, d := powers(v, gamma)
			powErr = max(powErr, math.Abs(p-pow))
			if v > 0 {
				dpowErr = max(dpowErr, math.Abs(d-dpow))
			}
		}
		powErr, dpowErr = powErr/eps, dpowErr/eps
		dpow = math.Abs(dpow)
		a.lossMag[i/cols] += scale * (pow*bceMag + powErr*bce)
		if !a.undefined[i] {
			a.gradMag[i] = scale * (dpow*(duMag*bce+math.Abs(du)*bceMag) + dpowErr*math.Abs(du)*bce +
				pow*dbceMag + powErr*math.Abs(dbce))
		}
	}
	return a
}

// powers returns u^gamma and its derivative, at its limit where u = 0
// (+Inf where it has none).
func powers(u, gamma float64) (pow, deriv float64) {
	pow = math.Pow(u, gamma)
	switch {
	case gamma == 0:
	case u != 0 && pow >= 0x1p-1022:
		deriv = gamma * pow / u
	default:
		deriv = gamma * math.Pow(u, gamma-1)
	}
	return pow, deriv
}

// sigmoids returns sigmoid(z) and sigmoid(-z), each without cancellation.
func sigmoids(z float64) (pos, neg float64) {
	e := math.Exp(-math.Abs(z))
	big, small := 1/(1+e), e/(1+e)
	if z >= 0 {
		return big, small
	}
	return small, big
}

// binaryStats adds to errorStats what the binary tests report: of the
// compared values, the largest share of the tolerance used,
// |got - want| / max(rel * mag, abs); the largest plain relative error
// |got - want| / |want| where nothing cancels (mag <= 2|want|); and the
// largest absolute error.
type binaryStats struct {
	errorStats
	lossUsed, gradUsed         float64
	lossPlainRel, gradPlainRel float64
	lossAbs, gradAbs           float64
}

func (s *binaryStats) merge(o binaryStats) {
	s.errorStats.merge(o.errorStats)
	s.lossUsed, s.gradUsed = max(s.lossUsed, o.lossUsed), max(s.gradUsed, o.gradUsed)
	s.lossPlainRel, s.gradPlainRel = max(s.lossPlainRel, o.lossPlainRel), max(s.gradPlainRel, o.gradPlainRel)
	s.lossAbs, s.gradAbs = max(s.lossAbs, o.lossAbs), max(s.gradAbs, o.gradAbs)
}

// compareBinary holds a result (loss, grad) of the core or the op to TF's
// reference (wantLoss, wantGrad) in T, and returns the mismatches and the
// error statistics. At SPEC's exception (a.undefined) it checks instead
// that the result is finite and TensorFlow's is not.
func compareBinary[T goloss.Float](a binaryAnalysis, loss, grad, wantLoss, wantGrad []T) ([]mismatch, binaryStats) {
	tol := toleranceOf[T]()
	var bad []mismatch
	var st binaryStats
	if a.negative > 0 {
		bad = append(bad, mismatch{what: fmt.Sprintf("case: %d elements with Keras's 1 - pt < 0 in T", a.negative)})
	}
	compare := func(what string, i int, got, want, mag float64, used, plainRel, abs *float64) {
		if math.IsNaN(mag) || math.IsInf(mag, 0) {
			bad = append(bad, mismatch{what + " (no bound on its rounding)", i, got, want, mag})
			return
		}
		var unused float64
		check(tol, what, i, got, want, max(mag, math.Abs(want)), &st.errorStats, &unused, &bad)
		if diff := math.Abs(got - want); got != want && !math.IsNaN(diff) {
			*used = max(*used, diff/max(tol.rel*max(mag, math.Abs(want)), tol.abs))
			*abs = max(*abs, diff)
			if w := math.Abs(want); w > 0 && mag <= 2*w {
				*plainRel = max(*plainRel, diff/w)
			}
		}
	}
	for b := range loss {
		compare("loss", b, float64(loss[b]), float64(wantLoss[b]), a.lossMag[b], &st.lossUsed, &st.lossPlainRel, &st.lossAbs)
	}
	for i := range grad {
		got, want := float64(grad[i]), float64(wantGrad[i])
		if a.undefined[i] {
			st.undefined++
			if !isFinite(got) {
				bad = append(bad, mismatch{"grad (the core must be finite where TF's is not)", i, got, want, a.gradMag[i]})
			}
			if isFinite(want) {
				bad = append(bad, mismatch{"grad (SPEC says TF's autodiff is not finite here)", i, got, want, a.gradMag[i]})
			}
			continue
		}
		st.compared++
		compare("grad", i, got, want, a.gradMag[i], &st.gradUsed, &st.gradPlainRel, &st.gradAbs)
	}
	return bad, st
}

// binaryObserved gathers the largest errors of each comparison.
var binaryObserved = struct {
	sync.Mutex
	stats map[string]*binaryStats
}{stats: map[string]*binaryStats{}}

func recordBinary(key string, st binaryStats) {
	binaryObserved.Lock()
	defer binaryObserved.Unlock()
	s := binaryObserved.stats[key]
	if s == nil {
		s = &binaryStats{}
		binaryObserved.stats[key] = s
	}
	s.merge(st)
}

// logBinaryObserved logs the largest errors one comparison saw.
func logBinaryObserved(t *testing.T, key string) {
	binaryObserved.Lock()
	defer binaryObserved.Unlock()
	if s := binaryObserved.stats[key]; s != nil {
		t.Logf("%s: largest share of the tolerance used: loss %.3g, gradient %.3g; "+
			"largest relative error where nothing cancels: loss %.3g, gradient %.3g; "+
			"largest absolute error: loss %.3g, gradient %.3g; "+
			"%d gradient values compared, %d values within tolerance only relative to mag, "+
			"%d gradient values at SPEC's 1 - pt = 0 exception",
			key, s.lossUsed, s.gradUsed, s.lossPlainRel, s.gradPlainRel, s.lossAbs, s.gradAbs,
			s.compared, s.byTerms, s.undefined)
	}
}
