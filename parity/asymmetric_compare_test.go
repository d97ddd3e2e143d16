//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/gofocal/gofocal/goloss"
)

// asymmetricAnalysis is what an asymmetric case's inputs say about each
// value, from SPEC's formulas evaluated in float64 on the inputs rounded to
// T, for a reference that computes in arithmetic of unit roundoff e (T's,
// or float64's for the wide reference).
//
// The tolerance is the other parity tests' (see tolerance and
// binaryAnalysis): a value passes when |got - want| <= max(rel * mag,
// abs), mag >= |want|, where mag is the sum of the magnitudes of the terms
// the value adds up, plus, for each intermediate the reference forms by
// cancellation or takes from such an intermediate, |d value / d
// intermediate| times that intermediate's rounding error in units of e (a
// first-order bound, as in binaryAnalysis). Where nothing cancels,
// mag = |want| and this is SPEC's plain relative tolerance. The
// cancellations of the reference as SPEC writes it (the core avoids each):
//
//   - u = 1 - pt: pt is rounded, so u carries an error of an ulp of 1
//     whatever u is. u^g and its derivative are far from linear near
//     u = 0 for g < 1: there mag takes how far they move over u's error,
//     and to e, the smallest 1 - pt the reference can form near pt = 1.
//   - 1 - p from a sigmoid rounded to T: at z = 15 in float32 it keeps no
//     digit of sigmoid(-z), and log(max(1 - p, eps)) (clip 0) none of its
//     value's, as in the reference code.
//   - log(neg) for neg = 1 - p + m: neg's rounding (of 1 - p and of the
//     sum) is an absolute error of about 2e in the log, whatever the log.
//   - soft labels: y/p - (1-y)/neg and du/dp = 1 - 2y cancel.
//   - d sigmoid(z)/dz: TensorFlow's SigmoidGrad is y * (1 - y), which
//     cancels for y near 1.
//   - g = gamma_pos * y + gamma_neg * (1 - y) rounded to T: it moves w by
//     w * log(u) times g's error.
//
// The roundings of the other operations (a few ulps of the value) and of
// the row sums (an ulp or so of the sum of the magnitudes of its terms per
// level of TensorFlow's reduction tree) are left to the margin between
// SPEC's rel and e: 168 ulps for float32, 9000 for float64.
type asymmetricAnalysis struct {
	lossMag []float64 // per row
	gradMag []float64 // per element
	// maybeUndefined marks elements where the reference's 1 - pt may be 0
	// with g < 1 in the focal_grad form: there TensorFlow's autodiff gives
	// 0 * inf (SPEC's exception) where it is in fact 0.
	maybeUndefined []bool
	// branch marks elements where the reference's rounding decides a branch
	// of min(1 - p + m, 1) or of max(., eps) otherwise than exact
	// arithmetic (which the core follows), or may: on probabilities the
	// reference's 1 - p + m <= 1 is computed exactly here, from logits
	// (whose sigmoid is TensorFlow's own) a window of 8 ulps around each
	// bound is marked. The gradient jumps there (by up to cw * w / neg), so
	// a gradient value out of tolerance there is excused (and counted); the
	// loss is continuous and always compared.
	branch []bool
}

func analyseAsymmetric[T goloss.Float](c asymmetricCase, d typedAsymmetric[T], wide bool) asymmetricAnalysis {
	rows, cols := c.rows, c.cols
	a := asymmetricAnalysis{
		lossMag:        make([]float64, rows),
		gradMag:        make([]float64, rows*cols),
		maybeUndefined: make([]bool, rows*cols),
		branch:         make([]bool, rows*cols),
	}
	prm := c.prm
	e := epsilon[T]()
	round := func(v float64) float64 { return float64(T(v)) }
	if wide {
		e = 0x1p-53
		round = func(v float64) float64 { return v }
	}
	eps, m := float64(T(AsymmetricEps(prm))), float64(T(prm.Clip))
	unknown := float64(T(prm.IgnoreValue))
	focal := prm.GammaNeg > 0 || prm.GammaPos > 0
	for i := range d.preds {
		y, x := float64(d.labels[i]), float64(d.preds[i])
		if prm.HasIgnore && y == unknown {
			continue // both give exactly 0
		}
		cw := 1.0
		if len(d.weights) > 0 {
			cw = float64(d.weights[i%cols])
		}

		// p, 1 - p and the errors (in units of e) of the reference's.
		var p, q, posErr, qErr float64
		if prm.FromLogits {
			p, q = sigmoids(x)
			posErr, qErr = 4*p, q+4*p // a sigmoid within a few ulps; 1 - p rounded
		} else {
			p, q = x, 1-x
			qErr = q
		}

		// neg and its branch.
		clipped := m > 0
		pass := !clipped || p >= m
		switch {
		case clipped && !prm.FromLogits:
			a.branch[i] = (round(round(1-x)+m) <= 1) != pass
		case clipped:
			a.branch[i] = math.Abs(p-m) <= 8*e
		}
		if prm.FromLogits {
			a.branch[i] = a.branch[i] || math.Abs(p-eps) <= 8*e*p || (!clipped && math.Abs(q-eps) <= 8*e)
		}
		neg, negC, dNeg, negErr := 1.0, 0.0, 0.0, 0.0
		switch {
		case !clipped:
			neg, negC, dNeg, negErr = q, p, -1, qErr
		case pass:
			negC = p - m
			neg, dNeg = q+m, -1
			negErr = qErr + neg
		}

		// The clamped logs and their derivatives: value, and the magnitude
		// of the value plus what vErr (the error of v, in units of e) does
		// to it.
		clampedLog := func(v, vErr float64) (l, lMag, dl, dlMag float64) {
			if !(v >= eps) {
				l = math.Log(eps)
				return l, math.Abs(l), 0, 0
			}
			l, dl = math.Log(v), 1/v
			return l, math.Abs(l) + vErr/v, dl, dl + vErr/(v*v)
		}
		logPos, logPosMag, dLogPos, dLogPosMag := clampedLog(p, posErr)
		logNeg, logNegMag, dLogNeg, dLogNegMag := clampedLog(neg, negErr)
		ce := y*logPos + (1-y)*logNeg
		ceMag := y*logPosMag + (1-y)*logNegMag
		dce := y*dLogPos + (1-y)*dLogNeg*dNeg
		dceMag := y*dLogPosMag + (1-y)*dLogNegMag*math.Abs(dNeg)

		// The focal weight w = u^g and its derivative dpow = g u^(g-1),
		// with the errors (in units of e) u's and g's errors give them.
		w, wErr, dpow, dpowErr, duMag := 1.0, 0.0, 0.0, 0.0, 0.0
		if focal {
			u := y*q + (1-y)*negC
			pt := 1 - u
			// pt's terms and sum rounded, their inputs' errors, 1 - pt rounded
			uErr := y*p + (1-y)*neg + pt + y*posErr + (1-y)*negErr + u
			g := prm.GammaPos*y + prm.GammaNeg*(1-y)
			gErr := 4 * g
			duMag = y + (1-y)*math.Abs(dNeg) // du/dp = -y - (1-y) dneg/dp
			w, dpow = powers(u, g)
			delta := e * uErr
			samples := []float64{max(u-delta, 0), u + delta}
			if u-delta <= e {
				samples = append(samples, e)
			}
			for _, v := range samples {
				pv, dv := powers(v, g)
				wErr = max(wErr, math.Abs(pv-w)/e)
				if v > 0 {
					dpowErr = max(dpowErr, math.Abs(dv-dpow)/e)
				}
			}
			if u > 0 && g > 0 {
				wErr += w * math.Abs(math.Log(u)) * gErr
				dpowErr += math.Abs(dpow) / g * (1 + g*math.Abs(math.Log(u))) * gErr
			}
			a.maybeUndefined[i] = prm.FocalGrad && g < 1 && u <= delta
		}

		a.lossMag[i/cols] += cw * (w*ceMag + wErr*math.Abs(ce))
		gradMag := cw * (w*dceMag + wErr*math.Abs(dce))
		if prm.FocalGrad && focal && isFinite(dpow) && isFinite(dpowErr) {
			gradMag += cw * (math.Abs(dpow)*duMag*ceMag + dpowErr*duMag*math.Abs(ce))
		}
		if prm.FromLogits {
			// SigmoidGrad p * (1 - p), from TF's p and its 1 - p
			dpdz := p * q
			gradMag *= dpdz + p*qErr + q*posErr
		}
		a.gradMag[i] = gradMag
	}
	return a
}

// asymmetricTolerance is SPEC's accuracy contract for one element type,
// with an absolute floor for float64 only where values underflow: 1e-12
// relative (to mag, see asymmetricAnalysis) for float64, 1e-5 relative or
// 1e-6 absolute for float32.
func asymmetricTolerance[T goloss.Float]() tolerance {
	tol := toleranceOf[T]()
	if tol.abs == 0 {
		tol.abs = 0x1p-1022
	}
	return tol
}

// asymmetricStats adds to errorStats what the asymmetric tests report (see
// binaryStats; here "nothing cancels" is mag <= 16 |want|, mag counting
// each rounding of the formulas), and the gradient values excused because
// the reference's rounding decides a branch.
type asymmetricStats struct {
	binaryStats
	branch int
}

func (s *asymmetricStats) merge(o asymmetricStats) {
	s.binaryStats.merge(o.binaryStats)
	s.branch += o.branch
}

// compareAsymmetric holds a result (loss, grad) of the core or the op to
// TF's reference (wantLoss, wantGrad) with the tolerance tol, and returns
// the mismatches and the error statistics. Where the reference may hit
// SPEC's exception (a.maybeUndefined) and its gradient is not finite, it
// checks instead that the result is finite; where the reference's rounding
// may decide a branch of a clamp (a.branch), a gradient value out of
// tolerance is excused (it must still be finite), and counted.
func compareAsymmetric[T goloss.Float](tol tolerance, a asymmetricAnalysis, loss, grad []T, wantLoss, wantGrad []T) ([]mismatch, asymmetricStats) {
	var bad []mismatch
	var st asymmetricStats
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
			if w := math.Abs(want); w > 0 && mag <= 16*w {
				*plainRel = max(*plainRel, diff/w)
			}
		}
	}
	for b := range loss {
		compare("loss", b, float64(loss[b]), float64(wantLoss[b]), a.lossMag[b], &st.lossUsed, &st.lossPlainRel, &st.lossAbs)
	}
	for i := range grad {
		got, want := float64(grad[i]), float64(wantGrad[i])
		if a.branch[i] {
			var rowBad []mismatch
			var unused errorStats
			var worst float64
			check(tol, "grad", i, got, want, max(a.gradMag[i], math.Abs(want)), &unused, &worst, &rowBad)
			if len(rowBad) > 0 {
				st.branch++
				if !isFinite(got) {
					bad = append(bad, mismatch{"grad (not finite)", i, got, want, a.gradMag[i]})
				}
				continue
			}
		}
		if a.maybeUndefined[i] && !isFinite(want) {
			st.undefined++
			if !isFinite(got) {
				bad = append(bad, mismatch{"grad (the core must be finite where TF's is not)", i, got, want, a.gradMag[i]})
			}
			continue
		}
		st.compared++
		compare("grad", i, got, want, a.gradMag[i], &st.gradUsed, &st.gradPlainRel, &st.gradAbs)
	}
	return bad, st
}

// asymmetricObserved gathers the largest errors of each comparison.
var asymmetricObserved = struct {
	sync.Mutex
	stats map[string]*asymmetricStats
}{stats: map[string]*asymmetricStats{}}

func recordAsymmetric(key string, st asymmetricStats) {
	asymmetricObserved.Lock()
	defer asymmetricObserved.Unlock()
	s := asymmetricObserved.stats[key]
	if s == nil {
		s = &asymmetricStats{}
		asymmetricObserved.stats[key] = s
	}
	s.merge(st)
}

// logAsymmetricObserved logs the largest errors one comparison saw.
func logAsymmetricObserved(t *testing.T, key string) {
	asymmetricObserved.Lock()
	defer asymmetricObserved.Unlock()
	if s := asymmetricObserved.stats[key]; s != nil {
		t.Log(fmt.Sprintf("%s: largest share of the tolerance used: loss %.3g, gradient %.3g; "+
			"largest relative error where nothing cancels: loss %.3g, gradient %.3g; "+
			"largest absolute error: loss %.3g, gradient %.3g; "+
			"%d gradient values compared, %d values within tolerance only relative to mag, "+
			"%d gradient values at SPEC's 1 - pt = 0 exception (TF's not finite), "+
			"%d out of tolerance where the reference's rounding may decide a clamp's branch (excused)",
			key, s.lossUsed, s.gradUsed, s.lossPlainRel, s.gradPlainRel, s.lossAbs, s.gradAbs,
			s.compared, s.byTerms, s.undefined, s.branch))
	}
}
