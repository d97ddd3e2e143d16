//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gofocal/gofocal/goloss"
)

// tolerance is SPEC's accuracy contract for one element type. A value
// passes when
//
//	|got - want| <= max(rel * mag, abs)
//
// where mag is the sum of the magnitudes of the terms SPEC's formula adds
// up to that value (see analysis): mag >= |want|, and mag = |want| when the
// terms do not cancel, so this is SPEC's relative tolerance wherever the
// value is well conditioned.
//
// The floor rel*mag for values near 0 is the honest one. A value that is
// near 0 only because its terms cancel carries, in any floating-point
// evaluation, an error of an ulp or so of its largest term, whatever the
// value. The smoothing gradient e/C * (M/S - 1/p) of a flat row is exactly
// 0, but in a row of seven predictions of 1.37e-8 (near the focal clip
// bound) both terms are 1.04e7, and TensorFlow's float32 autodiff, which
// forms them in different ops (the Log gradient 1/q divided by S, then the
// RealDiv gradient summed over the row), gives -1, one float32 ulp of 1e7,
// where the core, which computes in float64, gives 1.9e-9 (and TensorFlow's
// float64 gives 0). SPEC's float32 floor of 1e-6 cannot hold there, nor can
// any fixed floor that is not too loose for ordinary values; scaling the
// floor by the terms states what each evaluation can deliver, and 3-7%
// of the gradient values, all of them cancellations (flat rows, p near
// S/M, p = y = 1 with gamma 1), need it. Values that are exactly 0 in both
// (negatives with e = 0, clipped entries) pass with any floor.
type tolerance struct {
	rel float64 // SPEC: 1e-12 for float64, 1e-5 for float32
	abs float64 // SPEC: none for float64, 1e-6 for float32
}

func toleranceOf[T goloss.Float]() tolerance {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return tolerance{rel: 1e-5, abs: 1e-6}
	}
	return tolerance{rel: 1e-12}
}

// typeName returns "float32" or "float64".
func typeName[T goloss.Float]() string {
	var zero T
	return fmt.Sprintf("%T", zero)
}

// epsilon returns the unit roundoff of T.
func epsilon[T goloss.Float]() float64 {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return 0x1p-24
	}
	return 0x1p-53
}

// analysis is what a case's inputs say about each value, from SPEC's
// formulas evaluated in float64 on the inputs rounded to T.
type analysis struct {
	lossMag []float64 // per row: (1-e)/C * sum |A*FT| + e/C * sum |log q|
	gradMag []float64 // per element: the sum of |each term| of dL/dp
	// undefined marks elements where TensorFlow's autodiff has no value:
	// y - p = 0 at a positive with gamma < 1 gives 0 * inf (SPEC).
	undefined []bool
	// clipRounding marks rows where some p/S lies so close to a clip bound
	// of the smoothing term that T's rounding of the row sum S can decide
	// which side it falls on: the core sums in float64, TensorFlow in T
	// (in its own reduction order), so the two may take different branches
	// of the clip's gradient, which jumps there by e/C * (1/p + 1/S). The
	// loss is continuous and always compared; see compareCase for the
	// gradient.
	clipRounding []bool
}

func analyse[T goloss.Float](c parityCase, d typed[T]) analysis {
	rows, cols := c.rows, c.cols
	a := analysis{
		lossMag:      make([]float64, rows),
		gradMag:      make([]float64, rows*cols),
		undefined:    make([]bool, rows*cols),
		clipRounding: make([]bool, rows),
	}
	focalScale, smoothW := (1-c.e)/float64(cols), c.e/float64(cols)
	logLo := float64(T(1e-8))
	lo, hi := float64(T(1e-7)), float64(T(1-1e-7))
	// TensorFlow's row sum in T is within (cols-1)*eps of the exact one (the
	// worst case of any summation order of nonnegative terms), and the
	// division adds one rounding.
	window := float64(cols+1) * epsilon[T]()
	for b := range rows {
		y := toFloat64(d.labels[b*cols : (b+1)*cols])
		p := toFloat64(d.preds[b*cols : (b+1)*cols])
		w := toFloat64(d.weights)
		var sum float64
		for _, v := range p {
			sum += v
		}
		inside := 0
		for j := range p {
			q := p[j] / sum
			if lo <= q && q <= hi {
				inside++
			}
			for _, bound := range []float64{lo, hi} {
				if math.Abs(q-bound) <= window*bound {
					a.clipRounding[b] = true
				}
			}
		}
		for j := range p {
			i := b*cols + j
			q := math.Min(math.Max(p[j]/sum, lo), hi)
			a.lossMag[b] += smoothW * math.Abs(math.Log(q))
			g := smoothW * float64(inside) / sum
			if q := p[j] / sum; lo <= q && q <= hi {
				g += smoothW / p[j]
			}
			if y[j] > 0 {
				diff := y[j] - p[j]
				logP := math.Log(math.Max(p[j], logLo))
				pow := math.Pow(diff, c.gamma)
				a.lossMag[b] += focalScale * math.Abs(w[j]*pow*logP)
				switch {
				case c.gamma == 0:
				case diff != 0:
					g += focalScale * w[j] * math.Abs(c.gamma*pow/diff*logP)
				case c.gamma == 1:
					g += focalScale * w[j] * math.Abs(logP)
				}
				if p[j] >= logLo {
					g += focalScale * w[j] * math.Abs(pow/p[j])
				}
				a.undefined[i] = diff == 0 && c.gamma < 1
			}
			a.gradMag[i] = g
		}
	}
	return a
}

// mismatch is one value out of tolerance.
type mismatch struct {
	what      string
	index     int
	got, want float64
	mag       float64
}

func (m mismatch) String() string {
	return fmt.Sprintf("%s[%d]: got %v, want %v (diff %.3g, terms %.3g)", m.what, m.index, m.got, m.want, m.got-m.want, m.mag)
}

// errorStats collects the largest errors one comparison saw.
type errorStats struct {
	// lossRel and gradRel are the largest |got-want| / max(|want|, mag)
	// over compared values; gradPlainRel the largest |got-want| / |want|
	// over gradient values whose terms do not cancel (mag <= 2|want|).
	lossRel, gradRel, gradPlainRel float64
	compared, undefined            int // gradient values compared / skipped by SPEC's exception
	// byTerms counts values that pass only thanks to the floor rel*mag:
	// their terms cancel beyond SPEC's plain tolerance max(rel*|want|, abs).
	byTerms                       int
	clipRoundingRows, skippedRows int
}

func (s *errorStats) merge(o errorStats) {
	s.lossRel = max(s.lossRel, o.lossRel)
	s.gradRel = max(s.gradRel, o.gradRel)
	s.gradPlainRel = max(s.gradPlainRel, o.gradPlainRel)
	s.compared += o.compared
	s.undefined += o.undefined
	s.byTerms += o.byTerms
	s.clipRoundingRows += o.clipRoundingRows
	s.skippedRows += o.skippedRows
}

// check compares one value and records its error.
func check(tol tolerance, what string, i int, got, want, mag float64, st *errorStats, worst *float64, bad *[]mismatch) {
	diff := math.Abs(got - want)
	if got == want { // also ±Inf == ±Inf and 0 == -0
		diff = 0
	}
	switch {
	case math.IsNaN(diff) || diff > max(tol.rel*mag, tol.abs):
		*bad = append(*bad, mismatch{what, i, got, want, mag})
	case diff > max(tol.rel*math.Abs(want), tol.abs):
		st.byTerms++
	}
	if scale := max(math.Abs(want), mag); scale > 0 && !math.IsNaN(diff) {
		*worst = max(*worst, diff/scale)
	}
}

// compareCase holds a result (loss, grad) of the core or the op to TF's
// reference (wantLoss, wantGrad) in T, and returns the mismatches and the
// error statistics.
//
// A row marked clipRounding whose gradient does not match TF's in T is
// held instead, as a whole, to wide(): TensorFlow's float64 evaluation of
// the float32 composite (BuildWideReference), which decides the clip on the
// float64 row sum as the core does. So the core may take the other branch
// only where T's rounding decides it, and must then be right in every
// element of the row. For float64, where the window is ~1e-13 wide, wide is
// nil and such a row's gradient is not compared (none was seen).
func compareCase[T goloss.Float](c parityCase, a analysis, loss, grad, wantLoss, wantGrad []T, wide func() []float64) ([]mismatch, errorStats) {
	tol := toleranceOf[T]()
	var bad []mismatch
	var st errorStats
	for b := range c.rows {
		check(tol, "loss", b, float64(loss[b]), float64(wantLoss[b]), max(a.lossMag[b], math.Abs(float64(wantLoss[b]))), &st, &st.lossRel, &bad)
	}
	var wideGrad []float64
	for b := range c.rows {
		rowBad, rowSt := compareGradRow(tol, c, a, b, grad, func(i int) float64 { return float64(wantGrad[i]) })
		if len(rowBad) > 0 && a.clipRounding[b] {
			if wide == nil {
				st.skippedRows++
				continue
			}
			if wideGrad == nil {
				wideGrad = wide()
			}
			st.clipRoundingRows++
			rowBad, rowSt = compareGradRow(tol, c, a, b, grad, func(i int) float64 { return wideGrad[i] })
		}
		bad = append(bad, rowBad...)
		st.merge(rowSt)
	}
	return bad, st
}

// compareGradRow compares the gradient of row b with want.
func compareGradRow[T goloss.Float](tol tolerance, c parityCase, a analysis, b int, grad []T, want func(int) float64) ([]mismatch, errorStats) {
	var bad []mismatch
	var st errorStats
	for i := b * c.cols; i < (b+1)*c.cols; i++ {
		if a.undefined[i] {
			// SPEC: TF's autodiff gives 0 * inf here (NaN or ±Inf); the
			// core gives the limit, and it must be finite.
			st.undefined++
			if v := float64(grad[i]); !isFinite(v) {
				bad = append(bad, mismatch{"grad (core must be finite where TF's is not)", i, v, want(i), a.gradMag[i]})
			}
			if isFinite(want(i)) {
				bad = append(bad, mismatch{"grad (SPEC says TF's autodiff is not finite here)", i, float64(grad[i]), want(i), a.gradMag[i]})
			}
			continue
		}
		st.compared++
		mag := max(a.gradMag[i], math.Abs(want(i)))
		check(tol, "grad", i, float64(grad[i]), want(i), mag, &st, &st.gradRel, &bad)
		if w := math.Abs(want(i)); w > 0 && a.gradMag[i] <= 2*w {
			st.gradPlainRel = max(st.gradPlainRel, math.Abs(float64(grad[i])-want(i))/w)
		}
	}
	return bad, st
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// report fails t with the first few mismatches.
func report(t *testing.T, bad []mismatch) {
	t.Helper()
	if len(bad) == 0 {
		return
	}
	lines := make([]string, 0, 6)
	for _, m := range bad[:min(len(bad), 5)] {
		lines = append(lines, m.String())
	}
	if len(bad) > 5 {
		lines = append(lines, fmt.Sprintf("... and %d more", len(bad)-5))
	}
	t.Errorf("%d values out of tolerance:\n%s", len(bad), strings.Join(lines, "\n"))
}

// observed gathers the largest errors of each comparison for the summary.
var observed = struct {
	sync.Mutex
	stats map[string]*errorStats
}{stats: map[string]*errorStats{}}

func record(key string, st errorStats) {
	observed.Lock()
	defer observed.Unlock()
	s := observed.stats[key]
	if s == nil {
		s = &errorStats{}
		observed.stats[key] = s
	}
	s.merge(st)
}
