//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/gofocal/gofocal/goloss"
)

// asymmetricReferenceSession is an asymmetric reference graph with its
// session, built once and shared by every case and test.
type asymmetricReferenceSession struct {
	ref  AsymmetricReference
	sess *tf.Session
}

// The reference sessions: float32, float64, and the wide reference
// (float64 with float32's eps and clip; see BuildWideAsymmetricReference).
var (
	asymmetricReferenceSessions = map[tf.DataType]func() (*asymmetricReferenceSession, error){
		tf.Float:  sync.OnceValues(func() (*asymmetricReferenceSession, error) { return newAsymmetricReferenceSession(tf.Float, false) }),
		tf.Double: sync.OnceValues(func() (*asymmetricReferenceSession, error) { return newAsymmetricReferenceSession(tf.Double, false) }),
	}
	wideAsymmetricSession = sync.OnceValues(func() (*asymmetricReferenceSession, error) {
		return newAsymmetricReferenceSession(tf.Double, true)
	})
)

func newAsymmetricReferenceSession(dtype tf.DataType, wide bool) (*asymmetricReferenceSession, error) {
	s := op.NewScope()
	var ref AsymmetricReference
	if wide {
		ref = BuildWideAsymmetricReference(s)
	} else {
		ref = BuildAsymmetricReference(s, dtype)
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		return nil, err
	}
	return &asymmetricReferenceSession{ref, sess}, nil
}

// runAsymmetricReference evaluates TF's reference in T on labels and
// predictions of rows×cols values.
func runAsymmetricReference[T goloss.Float](t *testing.T, labels, preds, weights []T, cols int, prm goloss.Asymmetric) (loss, grad []T) {
	t.Helper()
	rs, err := asymmetricReferenceSessions[DataType[T]()]()
	require.NoError(t, err, "building the asymmetric reference graph")
	return runAsymmetricSession(t, rs, labels, preds, weights, cols, prm)
}

func runAsymmetricSession[T goloss.Float](t *testing.T, rs *asymmetricReferenceSession, labels, preds, weights []T, cols int, prm goloss.Asymmetric) (loss, grad []T) {
	t.Helper()
	loss, grad, err := RunAsymmetric(rs.sess, rs.ref, labels, preds, weights, cols, prm)
	require.NoError(t, err)
	require.Len(t, loss, len(preds)/cols)
	require.Len(t, grad, len(preds))
	return loss, grad
}

// asymmetricCore runs goloss.AsymmetricLossGrad on labels and predictions
// of rows×cols values, checking that it leaves its inputs alone.
func asymmetricCore[T goloss.Float](t *testing.T, labels, preds, weights []T, cols int, prm goloss.Asymmetric) (loss, grad []T) {
	t.Helper()
	inputs := [][]T{append([]T{}, labels...), append([]T{}, preds...), append([]T{}, weights...)}
	loss, grad = make([]T, len(preds)/cols), make([]T, len(preds))
	require.NoError(t, goloss.AsymmetricLossGrad(loss, grad, labels, preds, weights, cols, prm))
	for k, in := range [][]T{labels, preds, weights} {
		requireSameBits(t, "input", inputs[k], in)
	}
	return loss, grad
}

// TestAsymmetricCoreMatchesReference holds the Go core to TensorFlow's
// evaluation of SPEC's ASL formulas (BuildAsymmetricReference), loss and
// gradient by TensorFlow's autodiff (stop_gradient on w without
// focal_grad), in float32 and float64, on every asymmetric parity case:
// float64 to SPEC's 1e-12 relative, float32 to SPEC's 1e-5 relative or
// 1e-6 absolute, each relative to the magnitude of the terms where the
// reference's formulas cancel (see asymmetricAnalysis). Not compared:
// the gradient where SPEC says the autodiff has no value (1 - pt = 0 with
// g < 1 in the focal_grad form, where the core must be finite and TF is
// not), and where the reference's rounding takes a clamp's other branch.
func TestAsymmetricCoreMatchesReference(t *testing.T) {
	t.Run("float64", testAsymmetricCoreMatchesReference[float64])
	t.Run("float32", testAsymmetricCoreMatchesReference[float32])
}

func testAsymmetricCoreMatchesReference[T goloss.Float](t *testing.T) {
	key := "asymmetric core " + typeName[T]()
	for _, c := range asymmetricCases() {
		t.Run(c.name, func(t *testing.T) {
			d := convertAsymmetric[T](c)
			loss, grad := asymmetricCore(t, d.labels, d.preds, d.weights, c.cols, c.prm)
			wantLoss, wantGrad := runAsymmetricReference(t, d.labels, d.preds, d.weights, c.cols, c.prm)
			bad, st := compareAsymmetric(asymmetricTolerance[T](), analyseAsymmetric(c, d, false), loss, grad, wantLoss, wantGrad)
			report(t, bad)
			recordAsymmetric(key, st)
		})
	}
	logAsymmetricObserved(t, key)
}

// TestAsymmetricFloat32MatchesFloat64Formulas holds the float32 core to
// the float64 evaluation of SPEC's formulas on the same (float32) inputs,
// with float32's eps and clip (BuildWideAsymmetricReference), to SPEC's
// float32 tolerance: 1e-5 relative or 1e-6 absolute, plus 1e-12 of the
// float64 reference's own rounding bound (mag, see asymmetricAnalysis).
// This is the float32 check that holds where the float32 reference keeps
// no digit (1 - p of a sigmoid, 1 - pt). A gradient value out of tolerance
// is excused only where float64's rounding may decide a clamp's branch,
// and not compared at SPEC's exception (TF's autodiff not finite).
func TestAsymmetricFloat32MatchesFloat64Formulas(t *testing.T) {
	rs, err := wideAsymmetricSession()
	require.NoError(t, err, "building the wide asymmetric reference graph")
	var used, plainRel float64
	compared, excused, undefined := 0, 0, 0
	for _, c := range asymmetricCases() {
		t.Run(c.name, func(t *testing.T) {
			d := convertAsymmetric[float32](c)
			loss, grad := asymmetricCore(t, d.labels, d.preds, d.weights, c.cols, c.prm)
			wantLoss, wantGrad := runAsymmetricSession(t, rs, toFloat64(d.labels), toFloat64(d.preds), toFloat64(d.weights), c.cols, c.prm)
			a := analyseAsymmetric(c, d, true)
			var bad []mismatch
			// within reports whether got is within tolerance of want, and
			// records the error statistics when record.
			within := func(got, want, mag float64, record bool) bool {
				diff := math.Abs(got - want)
				if got == want {
					diff = 0
				}
				tol := max(1e-5*math.Abs(want)+1e-12*mag, 1e-6)
				if record && !math.IsNaN(diff) {
					used = max(used, diff/tol)
					if w := math.Abs(want); w >= 1e-6 && 1e-12*mag <= 1e-5*w {
						plainRel = max(plainRel, diff/w)
					}
				}
				return !math.IsNaN(diff) && diff <= tol
			}
			for b := range loss {
				if !within(float64(loss[b]), wantLoss[b], a.lossMag[b], true) {
					bad = append(bad, mismatch{"loss", b, float64(loss[b]), wantLoss[b], a.lossMag[b]})
				}
			}
			for i := range grad {
				got, want := float64(grad[i]), wantGrad[i]
				switch {
				case a.branch[i] && !within(got, want, a.gradMag[i], false):
					excused++
					require.True(t, isFinite(got), "grad[%d] = %v", i, got)
					continue
				case a.maybeUndefined[i] && !isFinite(want):
					undefined++
					require.True(t, isFinite(got), "grad[%d] = %v", i, got)
					continue
				}
				compared++
				if !within(got, want, a.gradMag[i], true) {
					bad = append(bad, mismatch{"grad", i, got, want, a.gradMag[i]})
				}
			}
			report(t, bad)
		})
	}
	t.Logf("float32 core vs float64 formulas: largest share of the tolerance used %.3g; largest relative error "+
		"of values >= 1e-6 whose float64 rounding bound is within the tolerance %.3g; %d gradient values compared, "+
		"%d excused (float64's rounding may decide a clamp's branch), %d at SPEC's exception", used, plainRel, compared, excused, undefined)
}

// TestAsymmetricReferenceIsTheFormula holds the reference (and the core and
// the op) to values worked by hand from SPEC, and checks the reference's
// focal_grad gradient against central differences of its own loss, so that
// the parity tests compare with the formulas SPEC states.
func TestAsymmetricReferenceIsTheFormula(t *testing.T) {
	// y = [1, 0, 0], p = [0.7, 0.2, 0.04], the reference's defaults: the
	// positive costs (1 - 0.7)^1 * -log(0.7); the first negative has
	// neg = 0.85, u = 0.15 and costs 0.15^4 * -log(0.85); the second is
	// shifted to neg = 1 and costs 0. Without focal_grad the gradient is
	// -w * dce/dp: -0.3/0.7, 0.15^4/0.85, 0.
	labels, preds := []float64{1, 0, 0}, []float64{0.7, 0.2, 0.04}
	prm := goloss.DefaultAsymmetric()
	wantLoss := -(0.3 * math.Log(0.7)) - math.Pow(0.15, 4)*math.Log(0.85)
	wantGrad := []float64{-0.3 / 0.7, math.Pow(0.15, 4) / 0.85, 0}
	// With focal_grad, d/dp of w = u^g adds -g u^(g-1) du/dp * ce:
	// log(0.7) for the positive (du/dp = -1) and -4 * 0.15^3 * log(0.85)
	// for the negative (du/dp = 1).
	wantFocalGrad := []float64{wantGrad[0] + math.Log(0.7), wantGrad[1] - 4*math.Pow(0.15, 3)*math.Log(0.85), 0}
	for _, tc := range []struct {
		name     string
		prm      goloss.Asymmetric
		labels   []float64
		weights  []float64
		loss     float64
		grad     []float64
		relative float64
	}{
		{"defaults", prm, labels, nil, wantLoss, wantGrad, 1e-14},
		{"defaults, focal_grad", goloss.Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, FocalGrad: true}, labels, nil,
			wantLoss, wantFocalGrad, 1e-14},
		{"class weights, the third label unknown", goloss.Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, HasIgnore: true, IgnoreValue: -1},
			[]float64{1, 0, -1}, []float64{2, 3, 5},
			-2*(0.3*math.Log(0.7)) - 3*math.Pow(0.15, 4)*math.Log(0.85), []float64{-0.6 / 0.7, 3 * math.Pow(0.15, 4) / 0.85, 0}, 1e-14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(who string, loss, grad []float64) {
				assert.InEpsilon(t, tc.loss, loss[0], tc.relative, "%s loss", who)
				for i, want := range tc.grad {
					assert.InDelta(t, want, grad[i], tc.relative*math.Abs(want), "%s grad[%d]", who, i)
				}
			}
			loss, grad := runAsymmetricReference(t, tc.labels, preds, tc.weights, 3, tc.prm)
			check("reference", loss, grad)
			loss, grad = asymmetricCore(t, tc.labels, preds, tc.weights, 3, tc.prm)
			check("core", loss, grad)
			out, err := asymmetricOpGraphOf[float64](t, tc.prm, "go").run(tc.labels, preds, tc.weights, []int64{1, 3}, tc.prm, []float64{1})
			require.NoError(t, err)
			loss, err = Flat[float64](out[0])
			require.NoError(t, err)
			grad, err = Flat[float64](out[1])
			require.NoError(t, err)
			check("op", loss, grad)
		})
	}

	t.Run("focal_grad is the derivative of the loss", func(t *testing.T) {
		// Away from every clamp's bound: soft labels, probabilities and
		// logits, every clip.
		labels := []float64{1, 0, 0.3, 0, 0.8, 1, 0, 0}
		probabilities := []float64{0.6, 0.3, 0.45, 0.12, 0.9, 0.02, 0.97, 0.5}
		logits := []float64{0.4, -0.85, -0.2, -2, 2.2, -3.9, 3.5, 0}
		for _, fromLogits := range []bool{false, true} {
			for _, clip := range asymmetricClips {
				for _, gammas := range [][2]float64{{4, 1}, {3.3, 0.7}, {2, 2}} {
					prm := goloss.Asymmetric{GammaNeg: gammas[0], GammaPos: gammas[1], Clip: clip, FocalGrad: true, FromLogits: fromLogits}
					preds := probabilities
					if fromLogits {
						preds = logits
					}
					_, grad := runAsymmetricReference(t, labels, preds, nil, 4, prm)
					for i := range preds {
						const h = 1e-6
						up, down := append([]float64{}, preds...), append([]float64{}, preds...)
						up[i] += h
						down[i] -= h
						lossUp, _ := runAsymmetricReference(t, labels, up, nil, 4, prm)
						lossDown, _ := runAsymmetricReference(t, labels, down, nil, 4, prm)
						want := (lossUp[i/4] - lossDown[i/4]) / (2 * h)
						assert.InDelta(t, want, grad[i], 1e-8*(1+math.Abs(want)), "logits %v, clip %v, gammas %v: grad[%d]", fromLogits, clip, gammas, i)
					}
				}
			}
		}
	})
}

// asymmetricOpGraph is GoFocal>AsymmetricLoss on placeholders of any
// shape, with the gradient of sum_b upstream[b] * loss[b] with respect to
// the predictions through the op's registered C++ gradient.
type asymmetricOpGraph struct {
	labels, preds, weights, gammaNeg, gammaPos, clip, eps, upstream tf.Output
	loss, grad, dPreds                                              tf.Output
	sess                                                            *tf.Session
}

func newAsymmetricOpGraph(dtype tf.DataType, prm goloss.Asymmetric, sharding string) (*asymmetricOpGraph, error) {
	s := op.NewScope()
	scalar := func(name string) tf.Output {
		return op.Placeholder(s.SubScope(name), tf.Double, op.PlaceholderShape(tf.ScalarShape()))
	}
	g := &asymmetricOpGraph{
		labels:   op.Placeholder(s.SubScope("labels"), dtype),
		preds:    op.Placeholder(s.SubScope("predictions"), dtype),
		weights:  op.Placeholder(s.SubScope("class_weights"), dtype),
		gammaNeg: scalar("gamma_neg"),
		gammaPos: scalar("gamma_pos"),
		clip:     scalar("clip"),
		eps:      scalar("eps"),
		upstream: op.Placeholder(s.SubScope("upstream"), dtype),
	}
	g.loss, g.grad = AsymmetricLoss(s, g.labels, g.preds, g.weights, g.gammaNeg, g.gammaPos, g.clip, g.eps, prm, sharding)
	if err := s.Err(); err != nil {
		return nil, err
	}
	if grads := op.Gradients(s.SubScope("gradients"), []tf.Output{g.loss}, []tf.Output{g.preds}, g.upstream); len(grads) == 1 {
		g.dPreds = grads[0]
	}
	graph, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	if g.sess, err = tf.NewSession(graph, nil); err != nil {
		return nil, err
	}
	return g, nil
}

var asymmetricOpGraphs = sync.Map{} // attributes -> func() (*asymmetricOpGraph, error)

// asymmetricOpGraphOf returns the op graph of T with prm's attributes
// (focal_grad, from_logits, validate, has_ignore, ignore_value) and the
// given sharding; the gammas, the clip and eps are fed at each run.
func asymmetricOpGraphOf[T goloss.Float](t *testing.T, prm goloss.Asymmetric, sharding string) *asymmetricOpGraph {
	t.Helper()
	loadOp(t)
	attrs := goloss.Asymmetric{FocalGrad: prm.FocalGrad, FromLogits: prm.FromLogits, NoValidate: prm.NoValidate,
		HasIgnore: prm.HasIgnore, IgnoreValue: prm.IgnoreValue}
	key := fmt.Sprintf("%s/%+v/%s", typeName[T](), attrs, sharding)
	build, _ := asymmetricOpGraphs.LoadOrStore(key, sync.OnceValues(func() (*asymmetricOpGraph, error) {
		return newAsymmetricOpGraph(DataType[T](), attrs, sharding)
	}))
	g, err := build.(func() (*asymmetricOpGraph, error))()
	require.NoError(t, err, "building the asymmetric op graph")
	return g
}

// feeds returns the feeds of one run: labels and predictions of the given
// shape, class weights (a slice of any length, nil for none: shape [0]),
// the gammas, the clip and eps of prm, and upstream (one value per row) unless
// it is nil.
func (g *asymmetricOpGraph) feeds(labels, preds, weights any, shape []int64, prm goloss.Asymmetric, upstream any) (map[tf.Output]*tf.Tensor, error) {
	if weights == nil {
		weights = []float64{}
		if g.preds.DataType() == tf.Float {
			weights = []float32{}
		}
	}
	weightsShape := []int64{int64(lenOf(weights))}
	feeds := []feed{
		{g.labels, labels, shape}, {g.preds, preds, shape}, {g.weights, weights, weightsShape},
		{g.gammaNeg, prm.GammaNeg, nil}, {g.gammaPos, prm.GammaPos, nil}, {g.clip, prm.Clip, nil}, {g.eps, AsymmetricEps(prm), nil},
	}
	if upstream != nil {
		feeds = append(feeds, feed{g.upstream, upstream, shape[:len(shape)-1]})
	}
	return feedMap(feeds)
}

// lenOf returns the length of a []float32 or []float64.
func lenOf(v any) int {
	switch s := v.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	}
	return 0
}

// run feeds the op and returns loss, grad and the gradient through the op
// for upstream. Empty weights (of either type) are fed as none.
func (g *asymmetricOpGraph) run(labels, preds, weights any, shape []int64, prm goloss.Asymmetric, upstream any) ([]*tf.Tensor, error) {
	if lenOf(weights) == 0 {
		weights = nil
	}
	feeds, err := g.feeds(labels, preds, weights, shape, prm, upstream)
	if err != nil {
		return nil, err
	}
	return g.sess.Run(feeds, []tf.Output{g.loss, g.grad, g.dPreds}, nil)
}

// TestAsymmetricOpMatchesReference runs GoFocal>AsymmetricLoss from the op
// library on every asymmetric parity case, float32 and float64, and checks
// that
//
//   - its loss and grad are the core's, bit for bit (the op only moves
//     data), with sharding "go" and with sharding "tensorflow", and within
//     tolerance of TensorFlow's reference (as in
//     TestAsymmetricCoreMatchesReference);
//   - op.Gradients through the op (the C++ gradient of
//     tfop/gradients/focal_loss_grad.cc, for an upstream gradient v[b]) is
//     exactly v[b] * grad[b, c] rounded to T, and within tolerance of v[b]
//     times the reference's autodiff gradient.
//
// Bit for bit is up to subnormals, which TensorFlow's threads flush to
// zero (see requireSameBitsFlushed).
func TestAsymmetricOpMatchesReference(t *testing.T) {
	t.Run("float64", testAsymmetricOpMatchesReference[float64])
	t.Run("float32", testAsymmetricOpMatchesReference[float32])
}

func testAsymmetricOpMatchesReference[T goloss.Float](t *testing.T) {
	key := "asymmetric op " + typeName[T]()
	keyGrad := "asymmetric op.Gradients " + typeName[T]()
	flushed := 0
	for i, c := range asymmetricCases() {
		t.Run(c.name, func(t *testing.T) {
			d := convertAsymmetric[T](c)
			rng := rand.New(rand.NewPCG(1618, uint64(i)))
			upstream := make([]T, c.rows)
			for b := range upstream {
				upstream[b] = T(4*rng.Float64() - 2)
			}
			shape := []int64{int64(c.rows), int64(c.cols)}
			coreLoss, coreGrad := asymmetricCore(t, d.labels, d.preds, d.weights, c.cols, c.prm)
			var loss, grad, dPreds []T
			for _, sharding := range []string{"go", "tensorflow"} {
				out, err := asymmetricOpGraphOf[T](t, c.prm, sharding).run(d.labels, d.preds, d.weights, shape, c.prm, upstream)
				require.NoError(t, err, "sharding %s", sharding)
				for k, dst := range []*[]T{&loss, &grad, &dPreds} {
					*dst, err = Flat[T](out[k])
					require.NoError(t, err)
				}
				require.Len(t, loss, c.rows)
				require.Len(t, grad, c.rows*c.cols)
				require.Len(t, dPreds, c.rows*c.cols)
				flushed += requireSameBitsFlushed(t, "loss, sharding "+sharding, coreLoss, loss)
				flushed += requireSameBitsFlushed(t, "grad, sharding "+sharding, coreGrad, grad)
			}

			wantLoss, wantGrad := runAsymmetricReference(t, d.labels, d.preds, d.weights, c.cols, c.prm)
			a := analyseAsymmetric(c, d, false)
			tol := asymmetricTolerance[T]()
			bad, st := compareAsymmetric(tol, a, loss, grad, wantLoss, wantGrad)
			report(t, bad)
			recordAsymmetric(key, st)

			// The C++ gradient: exactly upstream[b] * grad in T, where
			// TensorFlow's Mul reads a subnormal grad as zero ...
			scaled := make([]T, len(grad))
			for i := range grad {
				g := grad[i]
				if g != 0 && math.Abs(float64(g)) < smallestNormal[T]() {
					g = T(math.Copysign(0, float64(g)))
				}
				scaled[i] = upstream[i/c.cols] * g
			}
			flushed += requireSameBitsFlushed(t, "op.Gradients", scaled, dPreds)
			// ... and within tolerance of upstream[b] times the reference.
			for i := range wantGrad {
				wantGrad[i] *= upstream[i/c.cols]
				a.gradMag[i] *= math.Abs(float64(upstream[i/c.cols]))
			}
			bad, st = compareAsymmetric(tol, a, loss, dPreds, wantLoss, wantGrad)
			report(t, bad)
			recordAsymmetric(keyGrad, st)
		})
	}
	logAsymmetricObserved(t, key)
	logAsymmetricObserved(t, keyGrad)
	if flushed > 0 {
		t.Logf("%s: %d subnormal values of the core (or of upstream * grad) are ±0 from the op", typeName[T](), flushed)
	}
}

// TestAsymmetricOpRejectsBadInput checks that bad input through the op is
// an error from Session.Run that names the problem, the offending label's
// index in particular (SPEC: a label outside [0, 1] that is not the ignore
// value is an error naming its index, with either sharding, counted from
// the batch's first row), that switching validation off lets the values
// through, that a label equal to the ignore value is not checked, and that
// the process carries on.
func TestAsymmetricOpRejectsBadInput(t *testing.T) {
	const rows, cols = 64, 5
	shape := []int64{rows, cols}
	rng := rand.New(rand.NewPCG(7, 7))
	y, p := make([]float64, rows*cols), make([]float64, rows*cols)
	for i := range y {
		y[i], p[i] = float64(rng.IntN(2)), rng.Float64()
	}
	with := func(v []float64, i int, x float64) []float64 {
		v = append([]float64{}, v...)
		v[i] = x
		return v
	}
	defaults := goloss.DefaultAsymmetric()
	ignoring := defaults
	ignoring.HasIgnore, ignoring.IgnoreValue = true, -1
	for _, tc := range []struct {
		name              string
		labels, preds     []float64
		weights           []float64
		prm               goloss.Asymmetric
		want              []string
		noValidateAccepts bool
	}{
		{name: "label -2", labels: with(y, 40*cols+3, -2), preds: p, prm: defaults,
			want: []string{"labels[40, 3] = -2 is not in [0, 1]"}, noValidateAccepts: true},
		{name: "label 1.5", labels: with(y, 1, 1.5), preds: p, prm: defaults,
			want: []string{"labels[0, 1] = 1.5 is not in [0, 1]"}, noValidateAccepts: true},
		{name: "label -2 beside the ignore value -1", labels: with(with(y, 17*cols, -1), 63*cols+4, -2), preds: p, prm: ignoring,
			want: []string{"labels[63, 4] = -2 is not in [0, 1]"}, noValidateAccepts: true},
		{name: "label 1.5 from logits", labels: with(y, 2*cols+2, 1.5), preds: p,
			prm:  goloss.Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, FromLogits: true},
			want: []string{"labels[2, 2] = 1.5 is not in [0, 1]"}, noValidateAccepts: true},
		{name: "probability 1.5", labels: y, preds: with(p, 9*cols+1, 1.5), prm: defaults,
			want: []string{"predictions[9, 1] = 1.5"}, noValidateAccepts: true},
		{name: "negative class weight", labels: y, preds: p, weights: []float64{1, 2, -0.5, 1, 1}, prm: defaults,
			want: []string{"class_weights[2] = -0.5"}, noValidateAccepts: true},
		{name: "class weights of the wrong length", labels: y, preds: p, weights: []float64{1, 2}, prm: defaults,
			want: []string{"class_weights must have shape [0] (none) or [5]", "[2]"}},
		{name: "negative gamma_neg", labels: y, preds: p, prm: goloss.Asymmetric{GammaNeg: -1, GammaPos: 1},
			want: []string{"gamma_neg = -1"}},
		{name: "clip 1.5", labels: y, preds: p, prm: goloss.Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 1.5},
			want: []string{"clip = 1.5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sharding := range []string{"go", "tensorflow"} {
				for _, validate := range []bool{true, false} {
					prm := tc.prm
					prm.NoValidate = !validate
					g := asymmetricOpGraphOf[float64](t, prm, sharding)
					_, err := g.run(tc.labels, tc.preds, tc.weights, shape, prm, make([]float64, rows))
					if !validate && tc.noValidateAccepts {
						assert.NoError(t, err, "validate=false accepts it (sharding %s)", sharding)
						continue
					}
					require.Error(t, err, "validate=%v, sharding %s", validate, sharding)
					for _, want := range tc.want {
						assert.Contains(t, err.Error(), want, "validate=%v, sharding %s", validate, sharding)
					}
				}
			}
		})
	}

	t.Run("the ignore value is not checked", func(t *testing.T) {
		labels := with(with(y, 0, -1), 30*cols+2, -1)
		out, err := asymmetricOpGraphOf[float64](t, ignoring, "go").run(labels, p, nil, shape, ignoring, make([]float64, rows))
		require.NoError(t, err)
		grad, err := Flat[float64](out[1])
		require.NoError(t, err)
		assert.Zero(t, grad[0])
		assert.Zero(t, grad[30*cols+2])
	})

	// The process carries on: a good input still runs.
	_, err := asymmetricOpGraphOf[float64](t, defaults, "go").run(y, p, nil, shape, defaults, make([]float64, rows))
	assert.NoError(t, err)
}

// TestAsymmetricOpEmptyBatch checks SPEC's empty batch through the op, on
// probabilities and on logits, with and without class weights: an empty
// loss and gradient, no error.
func TestAsymmetricOpEmptyBatch(t *testing.T) {
	t.Run("float64", testAsymmetricOpEmptyBatch[float64])
	t.Run("float32", testAsymmetricOpEmptyBatch[float32])
}

func testAsymmetricOpEmptyBatch[T goloss.Float](t *testing.T) {
	for _, fromLogits := range []bool{false, true} {
		for _, weights := range [][]T{nil, {1, 2}} {
			prm := goloss.Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, FromLogits: fromLogits}
			out, err := asymmetricOpGraphOf[T](t, prm, "go").run([]T{}, []T{}, weights, []int64{0, 2}, prm, []T{})
			require.NoError(t, err)
			assert.Equal(t, []int64{0}, out[0].Shape())
			assert.Equal(t, []int64{0, 2}, out[1].Shape())
			assert.Equal(t, []int64{0, 2}, out[2].Shape())
		}
	}
}
