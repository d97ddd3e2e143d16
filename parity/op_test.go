//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	// The op finds the kernels of the Go core with dlsym(RTLD_DEFAULT):
	// capi exports them from this test binary (it links with -rdynamic), so
	// the op runs on the core compiled in here and never loads a second Go
	// runtime from libgoloss.so.
	_ "github.com/gofocal/gofocal/cgo/capi"
	"github.com/gofocal/gofocal/goloss"
)

// opLibrary loads the op library once per process.
var opLibrary = sync.OnceValues(func() (*tf.LibraryHandler, error) {
	return tf.LoadLibrary(OpLibrary())
})

func loadOp(t *testing.T) {
	t.Helper()
	_, err := opLibrary()
	require.NoError(t, err, "loading %s (build it with `make shared-lib`)", OpLibrary())
}

// opGraph is the op on placeholders of any shape, with the gradient of
// sum_b upstream[b] * loss[b] with respect to the predictions through the
// op's registered C++ gradient.
type opGraph struct {
	labels, preds, weights, gamma, e, upstream tf.Output
	loss, grad, dPreds                         tf.Output
	sess                                       *tf.Session
}

func newOpGraph(dtype tf.DataType, validate bool) (*opGraph, error) {
	s := op.NewScope()
	g := &opGraph{
		labels:   op.Placeholder(s.SubScope("labels"), dtype),
		preds:    op.Placeholder(s.SubScope("predictions"), dtype),
		weights:  op.Placeholder(s.SubScope("class_weights"), dtype),
		gamma:    op.Placeholder(s.SubScope("gamma"), tf.Double, op.PlaceholderShape(tf.ScalarShape())),
		e:        op.Placeholder(s.SubScope("e"), tf.Double, op.PlaceholderShape(tf.ScalarShape())),
		upstream: op.Placeholder(s.SubScope("upstream"), dtype),
	}
	g.loss, g.grad = SeedFocalLoss(s, g.labels, g.preds, g.weights, g.gamma, g.e, validate)
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

var opGraphs = sync.Map{} // "dtype/validate" -> func() (*opGraph, error)

func opGraphOf[T goloss.Float](t *testing.T, validate bool) *opGraph {
	t.Helper()
	loadOp(t)
	key := fmt.Sprintf("%s/%v", typeName[T](), validate)
	build, _ := opGraphs.LoadOrStore(key, sync.OnceValues(func() (*opGraph, error) {
		return newOpGraph(DataType[T](), validate)
	}))
	g, err := build.(func() (*opGraph, error))()
	require.NoError(t, err, "building the op graph")
	return g
}

// run feeds the op and returns loss, grad and the gradient through the op
// for upstream.
func (g *opGraph) run(labels, preds, weights any, shape []int64, weightsShape []int64, gamma, e float64, upstream any) ([]*tf.Tensor, error) {
	feeds := map[tf.Output]*tf.Tensor{}
	for _, f := range []struct {
		out   tf.Output
		value any
		shape []int64
	}{
		{g.labels, labels, shape}, {g.preds, preds, shape}, {g.weights, weights, weightsShape},
		{g.gamma, gamma, nil}, {g.e, e, nil}, {g.upstream, upstream, shape[:len(shape)-1]},
	} {
		t, err := NewTensor(f.value, f.shape)
		if err != nil {
			return nil, err
		}
		feeds[f.out] = t
	}
	return g.sess.Run(feeds, []tf.Output{g.loss, g.grad, g.dPreds}, nil)
}

// TestOpMatchesReference runs GoFocal>SeedFocalLoss from the op library on
// every parity case, float32 and float64, and checks that
//
//   - its loss and grad are the core's, bit for bit (the op only moves
//     data), and within SPEC's tolerance of TensorFlow's composite;
//   - op.Gradients through the op (the C++ gradient of
//     tfop/gradients/focal_loss_grad.cc, for an upstream gradient v[b])
//     is exactly v[b] * grad[b, c] rounded to T, and within tolerance of
//     v[b] times the composite's autodiff gradient.
func TestOpMatchesReference(t *testing.T) {
	t.Run("float64", testOpMatchesReference[float64])
	t.Run("float32", testOpMatchesReference[float32])
}

func testOpMatchesReference[T goloss.Float](t *testing.T) {
	key := "op " + typeName[T]()
	keyGrad := "op.Gradients " + typeName[T]()
	g := opGraphOf[T](t, true)
	for i, c := range parityCases() {
		t.Run(c.name, func(t *testing.T) {
			d := convert[T](c)
			rng := rand.New(rand.NewPCG(31337, uint64(i)))
			upstream := make([]T, c.rows)
			for b := range upstream {
				upstream[b] = T(4*rng.Float64() - 2)
			}
			out, err := g.run(d.labels, d.preds, d.weights, []int64{int64(c.rows), int64(c.cols)}, []int64{int64(c.cols)}, c.gamma, c.e, upstream)
			require.NoError(t, err)
			var loss, grad, dPreds []T
			for k, dst := range []*[]T{&loss, &grad, &dPreds} {
				*dst, err = Flat[T](out[k])
				require.NoError(t, err)
			}
			require.Len(t, loss, c.rows)
			require.Len(t, grad, c.rows*c.cols)
			require.Len(t, dPreds, c.rows*c.cols)

			coreLoss, coreGrad := core(t, c, d)
			requireSameBits(t, "loss", coreLoss, loss)
			requireSameBits(t, "grad", coreGrad, grad)

			wantLoss, wantGrad := runReference(t, c, d)
			a := analyse(c, d)
			bad, st := compareCase(c, a, loss, grad, wantLoss, wantGrad, wideGradient(t, c, d))
			report(t, bad)
			record(key, st)

			// The C++ gradient: exactly upstream[b] * grad in T ...
			scaled := make([]T, len(grad))
			for i := range grad {
				g := grad[i]
				if g != 0 && math.Abs(float64(g)) < smallestNormal[T]() {
					g = T(math.Copysign(0, float64(g))) // TensorFlow's Mul: denormals-are-zero
				}
				scaled[i] = upstream[i/c.cols] * g
			}
			requireSameBits(t, "op.Gradients", scaled, dPreds)
			// ... and within tolerance of upstream[b] times the reference.
			for i := range wantGrad {
				wantGrad[i] *= upstream[i/c.cols]
			}
			for i := range a.gradMag {
				a.gradMag[i] *= math.Abs(float64(upstream[i/c.cols]))
			}
			wide := wideGradient(t, c, d)
			if wide != nil {
				unscaled := wide
				wide = func() []float64 {
					w := unscaled()
					for i := range w {
						w[i] *= float64(upstream[i/c.cols])
					}
					return w
				}
			}
			bad, st = compareCase(c, a, loss, dPreds, wantLoss, wantGrad, wide)
			report(t, bad)
			record(keyGrad, st)
		})
	}
	logObserved(t, key)
	logObserved(t, keyGrad)
}

// requireSameBits fails unless got holds exactly want's values (NaN where
// want has NaN).
func requireSameBits[T goloss.Float](t *testing.T, what string, want, got []T) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			require.Failf(t, what+" differs", "%s[%d]: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestOpRunsOnTheCoreInThisProcess checks, after running the op, that the
// process has not mapped libgoloss.so: the op found the kernels exported by
// this test binary (through cgo/capi), so one Go runtime, the test's,
// computed the loss.
func TestOpRunsOnTheCoreInThisProcess(t *testing.T) {
	g := opGraphOf[float64](t, true)
	out, err := g.run([]float64{1, 0, 1, 0, 1, 0}, []float64{.9, .3, .4, .2, .5, .05}, []float64{6. / 11, 3. / 11, 2. / 11},
		[]int64{2, 3}, []int64{3}, 2, 0.1, []float64{1, 1})
	require.NoError(t, err)
	loss, err := Flat[float64](out[0])
	require.NoError(t, err)
	assert.InEpsilonSlice(t, []float64{0.13935285744407913, 0.1620203821512099}, loss, 1e-13)

	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	assert.Contains(t, string(maps), "/_gofocal_ops.so", "the op library is mapped")
	for _, line := range strings.Split(string(maps), "\n") {
		assert.NotContains(t, line, "libgoloss.so", "the op loaded a second Go runtime")
	}
}

// TestOpRejectsBadInput checks that bad input through the op is an error
// from Session.Run that names the problem, and that the process carries on.
func TestOpRejectsBadInput(t *testing.T) {
	g := opGraphOf[float64](t, true)
	y := []float64{1, 0, 1, 0, 1, 0}
	p := []float64{.9, .3, .4, .2, .5, .05}
	w := []float64{0.5, 0.3, 0.2}
	for _, tc := range []struct {
		name               string
		labels, preds, wts []float64
		shape, predsShape  []int64
		weightsShape       []int64
		gamma, e           float64
		want               []string
		noValidateAccepts  bool
	}{
		{name: "probability 1.5", labels: y, preds: []float64{.9, 1.5, .4, .2, .5, .05}, wts: w,
			want:              []string{"predictions[0, 1] = 1.5", "not a probability in [0, 1]"},
			noValidateAccepts: true},
		{name: "negative probability", labels: y, preds: []float64{.9, .3, .4, .2, -0.25, .05}, wts: w,
			want:              []string{"predictions[1, 1] = -0.25"},
			noValidateAccepts: true},
		{name: "shape mismatch", labels: y, preds: append(append([]float64{}, p...), .1, .2), wts: w,
			predsShape: []int64{2, 4},
			want:       []string{"labels and predictions must have the same shape", "labels [2,3]", "predictions [2,4]"}},
		{name: "weights for the wrong number of classes", labels: y, preds: p, wts: w[:2], weightsShape: []int64{2},
			want: []string{"class_weights must have shape [3]", "[2]"}},
		{name: "negative gamma", labels: y, preds: p, wts: w, gamma: -1, want: []string{"gamma = -1"}},
		{name: "e above 1", labels: y, preds: p, wts: w, e: 1.5, want: []string{"e = 1.5"}},
		{name: "negative class weight", labels: y, preds: p, wts: []float64{0.5, -0.3, 0.2},
			want:              []string{"class_weights[1] = -0.3"},
			noValidateAccepts: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shape, predsShape, weightsShape := []int64{2, 3}, tc.predsShape, tc.weightsShape
			if predsShape == nil {
				predsShape = shape
			}
			if weightsShape == nil {
				weightsShape = []int64{3}
			}
			gamma := tc.gamma
			if gamma == 0 {
				gamma = 2
			}
			feeds := func(g *opGraph) map[tf.Output]*tf.Tensor {
				m := map[tf.Output]*tf.Tensor{}
				for _, f := range []struct {
					out   tf.Output
					value any
					shape []int64
				}{
					{g.labels, tc.labels, shape}, {g.preds, tc.preds, predsShape}, {g.weights, tc.wts, weightsShape},
					{g.gamma, gamma, nil}, {g.e, tc.e, nil},
				} {
					v, err := NewTensor(f.value, f.shape)
					require.NoError(t, err)
					m[f.out] = v
				}
				return m
			}
			_, err := g.sess.Run(feeds(g), []tf.Output{g.loss, g.grad}, nil)
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			if tc.noValidateAccepts {
				lax := opGraphOf[float64](t, false)
				_, err := lax.sess.Run(feeds(lax), []tf.Output{lax.loss, lax.grad}, nil)
				assert.NoError(t, err, "validate=false accepts it")
			}
		})
	}

	// The process carries on: a good input still runs.
	_, err := g.run(y, p, w, []int64{2, 3}, []int64{3}, 2, 0.1, []float64{1, 1})
	assert.NoError(t, err)
}

// TestOpShapeFunction checks that shapes known when the graph is built are
// checked then, by the op's shape function, with a message naming both.
func TestOpShapeFunction(t *testing.T) {
	loadOp(t)
	s := op.NewScope()
	labels := op.Const(s.SubScope("labels"), [][]float32{{1, 0, 1}, {0, 1, 0}})
	preds := op.Const(s.SubScope("predictions"), [][]float32{{.9, .3, .4, .1}, {.2, .5, .05, .1}})
	weights := op.Const(s.SubScope("class_weights"), []float32{.5, .3, .2})
	gamma := op.Const(s.SubScope("gamma"), 2.0)
	e := op.Const(s.SubScope("e"), 0.1)
	SeedFocalLoss(s, labels, preds, weights, gamma, e, true)
	require.Error(t, s.Err())
	assert.Contains(t, s.Err().Error(), "labels and predictions must have the same shape")
	assert.Contains(t, s.Err().Error(), "[2,3]")
	assert.Contains(t, s.Err().Error(), "[2,4]")
}

// TestOpEmptyBatch checks SPEC's empty batch through the op: an empty loss
// and gradient, no error.
func TestOpEmptyBatch(t *testing.T) {
	t.Run("float64", testOpEmptyBatch[float64])
	t.Run("float32", testOpEmptyBatch[float32])
}

func testOpEmptyBatch[T goloss.Float](t *testing.T) {
	g := opGraphOf[T](t, true)
	out, err := g.run([]T{}, []T{}, []T{0.5, 0.5}, []int64{0, 2}, []int64{2}, 2, 0.1, []T{})
	require.NoError(t, err)
	assert.Equal(t, []int64{0}, out[0].Shape())
	assert.Equal(t, []int64{0, 2}, out[1].Shape())
	assert.Equal(t, []int64{0, 2}, out[2].Shape())
}

// TestScaleRowsGradient checks the C++ gradient of GoFocal>ScaleRows, the
// op that computes the focal-loss ops' backward product: for scaled =
// scale[b] * grad[b, c] and an upstream u, op.Gradients gives u * scale
// with respect to grad and sum_c u * grad with respect to scale.
func TestScaleRowsGradient(t *testing.T) {
	loadOp(t)
	s := op.NewScope()
	grad := op.Placeholder(s.SubScope("grad"), tf.Double)
	scale := op.Placeholder(s.SubScope("scale"), tf.Double)
	up := op.Placeholder(s.SubScope("upstream"), tf.Double)
	o := s.AddOperation(tf.OpSpec{Type: "GoFocal>ScaleRows", Input: []tf.Input{grad, scale}})
	require.NotNil(t, o, "%v", s.Err())
	grads := op.Gradients(s.SubScope("gradients"), []tf.Output{o.Output(0)}, []tf.Output{grad, scale}, up)
	graph, err := s.Finalize()
	require.NoError(t, err)
	require.Len(t, grads, 2)
	sess, err := tf.NewSession(graph, nil)
	require.NoError(t, err)
	defer sess.Close()

	rng := rand.New(rand.NewPCG(4, 4))
	const rows, cols = 5, 7
	g, u := make([][]float64, rows), make([][]float64, rows)
	sc := make([]float64, rows)
	for b := range rows {
		g[b], u[b] = make([]float64, cols), make([]float64, cols)
		for c := range cols {
			g[b][c], u[b][c] = rng.NormFloat64(), rng.NormFloat64()
		}
		sc[b] = rng.NormFloat64()
	}
	feeds := map[tf.Output]*tf.Tensor{}
	for out, v := range map[tf.Output]any{grad: g, scale: sc, up: u} {
		tensor, err := tf.NewTensor(v)
		require.NoError(t, err)
		feeds[out] = tensor
	}
	res, err := sess.Run(feeds, []tf.Output{o.Output(0), grads[0], grads[1]}, nil)
	require.NoError(t, err)
	scaled, dGrad, dScale := res[0].Value().([][]float64), res[1].Value().([][]float64), res[2].Value().([]float64)
	for b := range rows {
		var sum float64
		for c := range cols {
			require.Equal(t, sc[b]*g[b][c], scaled[b][c], "scaled[%d][%d]", b, c)
			require.Equal(t, sc[b]*u[b][c], dGrad[b][c], "dgrad[%d][%d]", b, c)
			sum += u[b][c] * g[b][c]
		}
		require.InDelta(t, sum, dScale[b], 1e-12*(1+math.Abs(sum)), "dscale[%d]", b)
	}
}

// TestSecondDerivativeIsAnErrorInCpp: the C++ gradient provides first
// derivatives only, so differentiating the gradient it built (the op's grad
// output reaches the second pass) is an Unimplemented error naming the op,
// never a silent zero.
func TestSecondDerivativeIsAnErrorInCpp(t *testing.T) {
	loadOp(t)
	s := op.NewScope()
	labels := op.Placeholder(s.SubScope("labels"), tf.Double)
	preds := op.Placeholder(s.SubScope("predictions"), tf.Double)
	weights := op.Placeholder(s.SubScope("class_weights"), tf.Double)
	gamma := op.Const(s.SubScope("gamma"), 2.0)
	e := op.Const(s.SubScope("e"), 0.1)
	up := op.Placeholder(s.SubScope("upstream"), tf.Double)
	loss, _ := SeedFocalLoss(s, labels, preds, weights, gamma, e, true)
	first := op.Gradients(s.SubScope("first"), []tf.Output{loss}, []tf.Output{preds}, up)
	require.Len(t, first, 1)
	require.NoError(t, s.Err(), "the first derivative builds")
	second := op.Gradients(s.SubScope("second"), first, []tf.Output{preds})
	assert.Empty(t, second)
	err := s.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "second derivatives are not provided by the C++ gradient")
	assert.Contains(t, err.Error(), "GoFocal>SeedFocalLoss")
}

// TestGradScaleThroughCppGradients: with grad_scale "inverse_batch", the
// op's grad output is grad times c (1/rows for a power-of-two batch, else
// 1), and op.Gradients through it (the C++ FocalLossGrad and ScaleRows, and
// ScaleRows' own C++ gradient) still gives exactly v[b] * the unscaled
// grad, for an upstream v equal to c in every row (a batch mean: ScaleRows
// returns its input) and for any other v.
func TestGradScaleThroughCppGradients(t *testing.T) {
	loadOp(t)
	for _, rows := range []int{8, 6} {
		const cols = 9
		s := op.NewScope()
		labels := op.Placeholder(s.SubScope("labels"), tf.Float)
		preds := op.Placeholder(s.SubScope("predictions"), tf.Float)
		weights := op.Placeholder(s.SubScope("class_weights"), tf.Float)
		upstream := op.Placeholder(s.SubScope("upstream"), tf.Float)
		second := op.Placeholder(s.SubScope("second"), tf.Float)
		o := s.AddOperation(tf.OpSpec{
			Type:  "GoFocal>SeedFocalLoss",
			Input: []tf.Input{labels, preds, weights, op.Const(s.SubScope("gamma"), 2.0), op.Const(s.SubScope("e"), 0.1)},
			Attrs: map[string]any{"grad_scale": "inverse_batch"},
		})
		require.NotNil(t, o, "%v", s.Err())
		dPreds := op.Gradients(s.SubScope("gradients"), []tf.Output{o.Output(0)}, []tf.Output{preds}, upstream)
		require.Len(t, dPreds, 1, "%v", s.Err())
		// ScaleRows' gradient with the attribute: through dPreds to the
		// upstream v, d/dv[b] sum_c second[b, c] * dPreds[b, c].
		dUp := op.Gradients(s.SubScope("second"), []tf.Output{dPreds[0]}, []tf.Output{upstream}, second)
		require.Len(t, dUp, 1, "%v", s.Err())
		graph, err := s.Finalize()
		require.NoError(t, err)
		sess, err := tf.NewSession(graph, nil)
		require.NoError(t, err)

		rng := rand.New(rand.NewPCG(uint64(rows), 9))
		y, p, w := make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, cols)
		sec := make([]float32, rows*cols)
		for i := range p {
			p[i] = float32(0.02 + 0.96*rng.Float64())
			if rng.Float64() < 0.4 {
				y[i] = 1
			}
			sec[i] = float32(rng.NormFloat64())
		}
		for c := range w {
			w[c] = float32(0.1 + rng.Float64())
		}
		loss, grad := make([]float32, rows), make([]float32, rows*cols)
		require.NoError(t, goloss.SeedLossGrad(loss, grad, y, p, w, cols, goloss.Seed{Gamma: 2, E: 0.1}))
		c := float32(1)
		if rows&(rows-1) == 0 {
			c = 1 / float32(rows)
		}
		mean, other := make([]float32, rows), make([]float32, rows)
		for b := range rows {
			mean[b], other[b] = c, float32(rng.NormFloat64())
		}
		for name, v := range map[string][]float32{"batch mean": mean, "other upstream": other} {
			feeds := map[tf.Output]*tf.Tensor{}
			for out, f := range map[tf.Output]struct {
				v     []float32
				shape []int64
			}{labels: {y, []int64{int64(rows), cols}}, preds: {p, []int64{int64(rows), cols}}, weights: {w, []int64{cols}},
				upstream: {v, []int64{int64(rows)}}, second: {sec, []int64{int64(rows), cols}}} {
				tensor, err := NewTensor(f.v, f.shape)
				require.NoError(t, err)
				feeds[out] = tensor
			}
			res, err := sess.Run(feeds, []tf.Output{o.Output(0), o.Output(1), dPreds[0], dUp[0]}, nil)
			require.NoError(t, err, "%d rows, %s", rows, name)
			gotLoss, gotGrad := res[0].Value().([]float32), res[1].Value().([][]float32)
			gotD, gotDUp := res[2].Value().([][]float32), res[3].Value().([]float32)
			require.Equal(t, loss, gotLoss)
			for b := range rows {
				var sum float64
				for k := range cols {
					g := grad[b*cols+k]
					require.Equal(t, c*g, gotGrad[b][k], "%d rows: grad output = c * grad [%d][%d]", rows, b, k)
					require.Equal(t, v[b]*g, gotD[b][k], "%d rows, %s: dpreds[%d][%d] = v * grad", rows, name, b, k)
					sum += float64(sec[b*cols+k]) * float64(g)
				}
				require.InDelta(t, sum, float64(gotDUp[b]), 1e-5*(1+math.Abs(sum)), "%d rows, %s: d/dv[%d]", rows, name, b)
			}
		}
		sess.Close()
	}
}
