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

// binaryReferenceSession is the binary reference graph of one element type
// with its session, built once and shared by every case and test.
type binaryReferenceSession struct {
	ref  BinaryReference
	sess *tf.Session
}

var binaryReferenceSessions = map[tf.DataType]func() (*binaryReferenceSession, error){
	tf.Float:  sync.OnceValues(func() (*binaryReferenceSession, error) { return newBinaryReferenceSession(tf.Float) }),
	tf.Double: sync.OnceValues(func() (*binaryReferenceSession, error) { return newBinaryReferenceSession(tf.Double) }),
}

func newBinaryReferenceSession(dtype tf.DataType) (*binaryReferenceSession, error) {
	s := op.NewScope()
	ref := BuildBinaryReference(s, dtype)
	g, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		return nil, err
	}
	return &binaryReferenceSession{ref, sess}, nil
}

// runBinaryReference evaluates TF's reference on labels and predictions of
// rows×cols values.
func runBinaryReference[T goloss.Float](t *testing.T, labels, preds []T, cols int, prm goloss.Binary) (loss, grad []T) {
	t.Helper()
	rs, err := binaryReferenceSessions[DataType[T]()]()
	require.NoError(t, err, "building the binary reference graph")
	loss, grad, err = RunBinary(rs.sess, rs.ref, labels, preds, cols, prm)
	require.NoError(t, err)
	require.Len(t, loss, len(preds)/cols)
	require.Len(t, grad, len(preds))
	return loss, grad
}

// binaryCore runs goloss.BinaryLossGrad on labels and predictions of
// rows×cols values.
func binaryCore[T goloss.Float](t *testing.T, labels, preds []T, cols int, prm goloss.Binary) (loss, grad []T) {
	t.Helper()
	loss, grad = make([]T, len(preds)/cols), make([]T, len(preds))
	require.NoError(t, goloss.BinaryLossGrad(loss, grad, labels, preds, cols, prm))
	return loss, grad
}

// TestBinaryCoreMatchesReference holds the Go core to TensorFlow's
// evaluation of Keras's BinaryFocalCrossentropy (on probabilities) and of
// SPEC's stable form (on logits), loss and gradient, in float32 and
// float64, on every binary parity case (see generateBinary and
// binaryAnalysis).
func TestBinaryCoreMatchesReference(t *testing.T) {
	t.Run("float64", testBinaryCoreMatchesReference[float64])
	t.Run("float32", testBinaryCoreMatchesReference[float32])
}

func testBinaryCoreMatchesReference[T goloss.Float](t *testing.T) {
	key := "binary core " + typeName[T]()
	for _, c := range binaryCases() {
		t.Run(c.name, func(t *testing.T) {
			d := convertBinary[T](c)
			loss, grad := binaryCore(t, d.labels, d.preds, c.cols, c.prm)
			wantLoss, wantGrad := runBinaryReference(t, d.labels, d.preds, c.cols, c.prm)
			bad, st := compareBinary(analyseBinary(c, d), loss, grad, wantLoss, wantGrad)
			report(t, bad)
			recordBinary(key, st)
		})
	}
	logBinaryObserved(t, key)
}

// TestBinaryReferenceIsKeras holds the reference to Keras itself: the
// values are keras.losses.binary_focal_crossentropy's (Keras 3.15.1,
// TensorFlow 2.18 backend, float64, gradients by tf.GradientTape). On
// logits Keras computes the bce with tf.nn.sigmoid_cross_entropy_with_logits,
// as the reference does, but 1 - pt by subtraction, which at z = ±30 leaves
// 1 - pt ≈ 1e-13 with three correct digits: those gradients are ~1e-20,
// below the absolute floor of 1e-18.
func TestBinaryReferenceIsKeras(t *testing.T) {
	labels := []float64{1, 0, 0.3, 1, 0, 1, 0.8, 0}
	probabilities := []float64{0.9, 0.2, 0.4, 1, 0, 0.6, 0.75, 1e-9}
	logits := []float64{2.5, -1, 0, 30, -30, 4, -0.5, 16}
	for _, tc := range []struct {
		name            string
		preds           []float64
		prm             goloss.Binary
		wantLoss, wantG []float64
	}{
		{"probabilities, gamma 2, smoothing 0.1, alpha 0.25", probabilities,
			goloss.Binary{Gamma: 2, LabelSmoothing: 0.1, Alpha: []float64{0.25}},
			[]float64{0.023574837637197858, 0.013437268224528044},
			[]float64{-0.004477327835000447, 0.030934204575366688, 0.042150846136410423, -0.004986536429990588,
				0.013146323315000466, -0.043800405423625503, -0.020733982076978165, 0.013146323551634276}},
		{"probabilities, gamma 3.7", probabilities,
			goloss.Binary{Gamma: 3.7},
			[]float64{0.009086681365652589, 0.0069118586328316004},
			[]float64{-0.00024987917959299786, 0.0034864574048528753, 0.034640611431121945, 0,
				0, -0.053849962409659606, -0.017914396045048495, 4.635981786401966e-32}},
		{"logits, gamma 2, smoothing 0.1, alpha 0.25", logits,
			goloss.Binary{Gamma: 2, LabelSmoothing: 0.1, Alpha: []float64{0.25}, FromLogits: true},
			[]float64{0.031629395909987507, 2.5122566963949637},
			[]float64{-0.00023406933189903779, 0.010189717141394201, 0.015839028821933269, 8.5937499991441906e-06,
				-2.2656249997744312e-05, -2.1917882245783391e-05, -0.022741375522273573, 0.15539969736545448}},
		{"logits, gamma 0.5", logits,
			goloss.Binary{Gamma: 0.5, FromLogits: true},
			[]float64{0.16857832741491358, 4.1660889667320458},
			[]float64{-0.0077332644205128191, 0.049713580449904635, 0.04760856585268422, -1.0735337757341564e-20,
				1.0734742395251549e-20, -0.00090183900622106726, -0.10032380022256823, 0.2500001828696285}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loss, grad := runBinaryReference(t, labels, tc.preds, 4, tc.prm)
			for _, v := range []struct {
				what      string
				got, want []float64
			}{{"loss", loss, tc.wantLoss}, {"grad", grad, tc.wantG}} {
				for i := range v.want {
					assert.InDelta(t, v.want[i], v.got[i], 1e-12*math.Abs(v.want[i])+1e-18, "%s[%d]", v.what, i)
				}
			}
		})
	}
}

// binaryOpGraph is GoFocal>BinaryFocalLoss on placeholders of any shape,
// with the gradient of sum_b upstream[b] * loss[b] with respect to the
// predictions through the op's registered C++ gradient.
type binaryOpGraph struct {
	labels, preds, alpha, gamma, ls, upstream tf.Output
	loss, grad, dPreds                        tf.Output
	sess                                      *tf.Session
}

func newBinaryOpGraph(dtype tf.DataType, fromLogits, validate bool) (*binaryOpGraph, error) {
	s := op.NewScope()
	g := &binaryOpGraph{
		labels:   op.Placeholder(s.SubScope("labels"), dtype),
		preds:    op.Placeholder(s.SubScope("predictions"), dtype),
		alpha:    op.Placeholder(s.SubScope("alpha"), tf.Double),
		gamma:    op.Placeholder(s.SubScope("gamma"), tf.Double, op.PlaceholderShape(tf.ScalarShape())),
		ls:       op.Placeholder(s.SubScope("label_smoothing"), tf.Double, op.PlaceholderShape(tf.ScalarShape())),
		upstream: op.Placeholder(s.SubScope("upstream"), dtype),
	}
	g.loss, g.grad = BinaryFocalLoss(s, g.labels, g.preds, g.alpha, g.gamma, g.ls, fromLogits, validate)
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

var binaryOpGraphs = sync.Map{} // "dtype/fromLogits/validate" -> func() (*binaryOpGraph, error)

func binaryOpGraphOf[T goloss.Float](t *testing.T, fromLogits, validate bool) *binaryOpGraph {
	t.Helper()
	loadOp(t)
	key := fmt.Sprintf("%s/%v/%v", typeName[T](), fromLogits, validate)
	build, _ := binaryOpGraphs.LoadOrStore(key, sync.OnceValues(func() (*binaryOpGraph, error) {
		return newBinaryOpGraph(DataType[T](), fromLogits, validate)
	}))
	g, err := build.(func() (*binaryOpGraph, error))()
	require.NoError(t, err, "building the binary op graph")
	return g
}

// feeds returns the feeds of one run: labels and predictions of the given
// shape, the parameters of prm (alpha as given, any length), and upstream
// (one value per row) unless it is nil.
func (g *binaryOpGraph) feeds(labels, preds any, shape []int64, prm goloss.Binary, upstream any) (map[tf.Output]*tf.Tensor, error) {
	alpha := append([]float64{}, prm.Alpha...)
	feeds := []feed{
		{g.labels, labels, shape}, {g.preds, preds, shape}, {g.alpha, alpha, []int64{int64(len(alpha))}},
		{g.gamma, prm.Gamma, nil}, {g.ls, prm.LabelSmoothing, nil},
	}
	if upstream != nil {
		feeds = append(feeds, feed{g.upstream, upstream, shape[:len(shape)-1]})
	}
	return feedMap(feeds)
}

// run feeds the op and returns loss, grad and the gradient through the op
// for upstream.
func (g *binaryOpGraph) run(labels, preds any, shape []int64, prm goloss.Binary, upstream any) ([]*tf.Tensor, error) {
	feeds, err := g.feeds(labels, preds, shape, prm, upstream)
	if err != nil {
		return nil, err
	}
	return g.sess.Run(feeds, []tf.Output{g.loss, g.grad, g.dPreds}, nil)
}

// TestBinaryOpMatchesReference runs GoFocal>BinaryFocalLoss from the op
// library on every binary parity case, float32 and float64, and checks
// that
//
//   - its loss and grad are the core's, bit for bit (the op only moves
//     data), and within tolerance of TensorFlow's reference;
//   - op.Gradients through the op (the C++ gradient of
//     tfop/gradients/focal_loss_grad.cc, for an upstream gradient v[b]) is
//     exactly v[b] * grad[b, c] rounded to T, and within tolerance of v[b]
//     times the reference's autodiff gradient.
func TestBinaryOpMatchesReference(t *testing.T) {
	t.Run("float64", testBinaryOpMatchesReference[float64])
	t.Run("float32", testBinaryOpMatchesReference[float32])
}

func testBinaryOpMatchesReference[T goloss.Float](t *testing.T) {
	key := "binary op " + typeName[T]()
	keyGrad := "binary op.Gradients " + typeName[T]()
	for i, c := range binaryCases() {
		t.Run(c.name, func(t *testing.T) {
			g := binaryOpGraphOf[T](t, c.prm.FromLogits, true)
			d := convertBinary[T](c)
			rng := rand.New(rand.NewPCG(2718, uint64(i)))
			upstream := make([]T, c.rows)
			for b := range upstream {
				upstream[b] = T(4*rng.Float64() - 2)
			}
			out, err := g.run(d.labels, d.preds, []int64{int64(c.rows), int64(c.cols)}, c.prm, upstream)
			require.NoError(t, err)
			var loss, grad, dPreds []T
			for k, dst := range []*[]T{&loss, &grad, &dPreds} {
				*dst, err = Flat[T](out[k])
				require.NoError(t, err)
			}
			require.Len(t, loss, c.rows)
			require.Len(t, grad, c.rows*c.cols)
			require.Len(t, dPreds, c.rows*c.cols)

			coreLoss, coreGrad := binaryCore(t, d.labels, d.preds, c.cols, c.prm)
			flushed := requireSameBitsFlushed(t, "loss", coreLoss, loss)
			flushed += requireSameBitsFlushed(t, "grad", coreGrad, grad)

			wantLoss, wantGrad := runBinaryReference(t, d.labels, d.preds, c.cols, c.prm)
			a := analyseBinary(c, d)
			bad, st := compareBinary(a, loss, grad, wantLoss, wantGrad)
			report(t, bad)
			recordBinary(key, st)

			// The C++ gradient: exactly upstream[b] * grad in T, where
			// TensorFlow's Mul reads a subnormal grad as zero (its threads
			// run with denormals-are-zero) ...
			scaled := make([]T, len(grad))
			for i := range grad {
				g := grad[i]
				if g != 0 && math.Abs(float64(g)) < smallestNormal[T]() {
					g = T(math.Copysign(0, float64(g)))
				}
				scaled[i] = upstream[i/c.cols] * g
			}
			flushed += requireSameBitsFlushed(t, "op.Gradients", scaled, dPreds)
			recordFlushed(typeName[T](), flushed)
			// ... and within tolerance of upstream[b] times the reference.
			for i := range wantGrad {
				wantGrad[i] *= upstream[i/c.cols]
				a.gradMag[i] *= math.Abs(float64(upstream[i/c.cols]))
			}
			bad, st = compareBinary(a, loss, dPreds, wantLoss, wantGrad)
			report(t, bad)
			recordBinary(keyGrad, st)
		})
	}
	logBinaryObserved(t, key)
	logBinaryObserved(t, keyGrad)
	if n := flushedCount(typeName[T]()); n > 0 {
		t.Logf("%s: %d subnormal values of the core (or of upstream * grad) are ±0 from the op", typeName[T](), n)
	}
}

// requireSameBitsFlushed is requireSameBits up to the flushing of
// subnormals: TensorFlow runs kernels on threads with the CPU's
// flush-to-zero and denormals-are-zero modes on (ScopedFlushDenormal in
// its thread pools), and they hold for the Go core the op calls on such a
// thread as for TensorFlow's own Mul. So where the core, run on a Go
// thread, gives a subnormal of T, the op may give zero of the same sign.
// It returns how many values were flushed.
func requireSameBitsFlushed[T goloss.Float](t *testing.T, what string, want, got []T) int {
	t.Helper()
	require.Len(t, got, len(want), what)
	flushed := 0
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		switch {
		case got[i] == want[i] && math.Signbit(g) == math.Signbit(w):
		case math.IsNaN(g) && math.IsNaN(w):
		case g == 0 && math.Signbit(g) == math.Signbit(w) && math.Abs(w) < smallestNormal[T]():
			flushed++
		default:
			require.Failf(t, what+" differs", "%s[%d]: got %v, want %v", what, i, got[i], want[i])
		}
	}
	return flushed
}

// smallestNormal returns the smallest positive normal number of T.
func smallestNormal[T goloss.Float]() float64 {
	if DataType[T]() == tf.Float {
		return 0x1p-126
	}
	return 0x1p-1022
}

// flushedCounts counts, per element type, the values requireSameBitsFlushed
// let through as flushed.
var flushedCounts = struct {
	sync.Mutex
	m map[string]int
}{m: map[string]int{}}

func recordFlushed(key string, n int) {
	flushedCounts.Lock()
	defer flushedCounts.Unlock()
	flushedCounts.m[key] += n
}

func flushedCount(key string) int {
	flushedCounts.Lock()
	defer flushedCounts.Unlock()
	return flushedCounts.m[key]
}

// TestBinaryExtremeLogits checks logits of ±1000 through the op: the loss
// and gradient are finite and exact (a wrong logit of 1000 costs exactly
// 1000, averaged over the classes, and its gradient is ±1/C; a right one
// costs 0), and they match the stable-form reference, for every gamma,
// with and without label smoothing and alpha.
func TestBinaryExtremeLogits(t *testing.T) {
	t.Run("float64", testBinaryExtremeLogits[float64])
	t.Run("float32", testBinaryExtremeLogits[float32])
}

func testBinaryExtremeLogits[T goloss.Float](t *testing.T) {
	const cols = 4
	c := binaryCase{rows: 4, cols: cols, labels: []float64{
		0, 1, 0, 1, // wrong, wrong, right, right
		0, 0, 1, 1, // wrong, wrong, right, right
		1, 0, 1, 0, // wrong, wrong, wrong, wrong
		1, 0, 0.5, 0, // right, right, a soft label, a logit of 0
	}, preds: []float64{
		1000, -1000, -1000, 1000,
		1000, 1000, 1000, 1000,
		-1000, 1000, -1000, 1000,
		1000, -1000, 1000, 0,
	}}
	// Rows 0-2 without smoothing or alpha: loss and gradient, exactly.
	exactLoss := []float64{500, 500, 1000}
	exactGrad := []float64{
		0.25, -0.25, 0, 0,
		0.25, 0.25, 0, 0,
		-0.25, 0.25, -0.25, 0.25,
	}
	g := binaryOpGraphOf[T](t, true, true)
	d := convertBinary[T](c)
	for _, gamma := range gammas {
		for _, ls := range labelSmoothings {
			for _, alpha := range [][]float64{nil, {0.25}, {0.1, 0.9, 0.5, 0}} {
				c.prm = goloss.Binary{Gamma: gamma, LabelSmoothing: ls, Alpha: alpha, FromLogits: true}
				t.Run(fmt.Sprintf("gamma%v_ls%v_alpha%v", gamma, ls, alpha), func(t *testing.T) {
					out, err := g.run(d.labels, d.preds, []int64{4, cols}, c.prm, []T{1, 1, 1, 1})
					require.NoError(t, err)
					loss, err := Flat[T](out[0])
					require.NoError(t, err)
					grad, err := Flat[T](out[1])
					require.NoError(t, err)
					for i, v := range append(append([]T{}, loss...), grad...) {
						require.True(t, isFinite(float64(v)), "output %d = %v", i, v)
					}
					if ls == 0 && alpha == nil {
						for b, want := range exactLoss {
							assert.Equal(t, T(want), loss[b], "loss[%d]", b)
						}
						for i, want := range exactGrad {
							assert.Equal(t, T(want), grad[i], "grad[%d]", i)
						}
					}
					wantLoss, wantGrad := runBinaryReference(t, d.labels, d.preds, cols, c.prm)
					bad, _ := compareBinary(analyseBinary(c, d), loss, grad, wantLoss, wantGrad)
					report(t, bad)
				})
			}
		}
	}
}

// TestBinaryOpRejectsBadInput checks that bad input through the op is an
// error from Session.Run that names the problem, that switching validation
// off lets only out-of-range probabilities through, that logits are never
// checked, and that the process carries on.
func TestBinaryOpRejectsBadInput(t *testing.T) {
	y := []float64{1, 0, 1, 0, 1, 0}
	p := []float64{.9, .3, .4, .2, .5, .05}
	shape := []int64{2, 3}
	good := goloss.Binary{Gamma: 2, LabelSmoothing: 0.1, Alpha: []float64{0.25}}
	for _, tc := range []struct {
		name              string
		preds             []float64
		prm               goloss.Binary
		want              []string
		noValidateAccepts bool
	}{
		{name: "alpha of the wrong length", preds: p, prm: goloss.Binary{Gamma: 2, Alpha: []float64{0.25, 0.5}},
			want: []string{"alpha must have shape [0], [1] or [3]", "[2]"}},
		{name: "alpha 1.5", preds: p, prm: goloss.Binary{Gamma: 2, Alpha: []float64{0.25, 1.5, 0.5}},
			want: []string{"alpha[1] = 1.5"}},
		{name: "negative gamma", preds: p, prm: goloss.Binary{Gamma: -1}, want: []string{"gamma = -1"}},
		{name: "label smoothing 2", preds: p, prm: goloss.Binary{Gamma: 2, LabelSmoothing: 2},
			want: []string{"label_smoothing = 2"}},
		{name: "probability 1.5", preds: []float64{.9, 1.5, .4, .2, .5, .05}, prm: good,
			want:              []string{"predictions[0, 1] = 1.5", "not a probability in [0, 1]"},
			noValidateAccepts: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, validate := range []bool{true, false} {
				g := binaryOpGraphOf[float64](t, false, validate)
				feeds, err := g.feeds(y, tc.preds, shape, tc.prm, nil)
				require.NoError(t, err)
				_, err = g.sess.Run(feeds, []tf.Output{g.loss, g.grad}, nil)
				if !validate && tc.noValidateAccepts {
					assert.NoError(t, err, "validate=false accepts it")
					continue
				}
				require.Error(t, err, "validate=%v", validate)
				for _, want := range tc.want {
					assert.Contains(t, err.Error(), want, "validate=%v", validate)
				}
			}
		})
	}

	t.Run("from_logits accepts 7.5", func(t *testing.T) {
		g := binaryOpGraphOf[float64](t, true, true)
		out, err := g.run(y, []float64{.9, 7.5, .4, .2, .5, .05}, shape, good, []float64{1, 1})
		require.NoError(t, err)
		loss, err := Flat[float64](out[0])
		require.NoError(t, err)
		for _, v := range loss {
			assert.True(t, isFinite(v))
		}
	})

	// The process carries on: a good input still runs.
	g := binaryOpGraphOf[float64](t, false, true)
	_, err := g.run(y, p, shape, good, []float64{1, 1})
	assert.NoError(t, err)
}

// TestBinaryOpEmptyBatch checks SPEC's empty batch through the op, on
// probabilities and on logits: an empty loss and gradient, no error.
func TestBinaryOpEmptyBatch(t *testing.T) {
	t.Run("float64", testBinaryOpEmptyBatch[float64])
	t.Run("float32", testBinaryOpEmptyBatch[float32])
}

func testBinaryOpEmptyBatch[T goloss.Float](t *testing.T) {
	for _, fromLogits := range []bool{false, true} {
		g := binaryOpGraphOf[T](t, fromLogits, true)
		out, err := g.run([]T{}, []T{}, []int64{0, 2}, goloss.Binary{Gamma: 2, Alpha: []float64{0.25, 0.5}, FromLogits: fromLogits}, []T{})
		require.NoError(t, err)
		assert.Equal(t, []int64{0}, out[0].Shape())
		assert.Equal(t, []int64{0, 2}, out[1].Shape())
		assert.Equal(t, []int64{0, 2}, out[2].Shape())
	}
}
