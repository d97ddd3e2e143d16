//go:build tensorflow

package parity

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/gofocal/gofocal/goloss"
)

// referenceSession is the reference graph of one element type with its
// session, built once and shared by every case and test.
type referenceSession struct {
	ref  Reference
	sess *tf.Session
}

// The reference sessions: float32, float64, and the wide reference
// (float64 with float32's clip bounds; see BuildWideReference).
var (
	referenceSessions = map[tf.DataType]func() (*referenceSession, error){
		tf.Float:  sync.OnceValues(func() (*referenceSession, error) { return newReferenceSession(tf.Float, false) }),
		tf.Double: sync.OnceValues(func() (*referenceSession, error) { return newReferenceSession(tf.Double, false) }),
	}
	wideSession = sync.OnceValues(func() (*referenceSession, error) { return newReferenceSession(tf.Double, true) })
)

func newReferenceSession(dtype tf.DataType, wide bool) (*referenceSession, error) {
	s := op.NewScope()
	var ref Reference
	if wide {
		ref = BuildWideReference(s)
	} else {
		ref = BuildReference(s, dtype)
	}
	g, err := s.Finalize()
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		return nil, err
	}
	return &referenceSession{ref, sess}, nil
}

func reference[T goloss.Float](t *testing.T) *referenceSession {
	t.Helper()
	rs, err := referenceSessions[DataType[T]()]()
	require.NoError(t, err, "building the reference graph")
	return rs
}

// runReference evaluates TF's composite on one typed case.
func runReference[T goloss.Float](t *testing.T, c parityCase, d typed[T]) (loss, grad []T) {
	t.Helper()
	return runSession(t, reference[T](t), c, d)
}

func runSession[T goloss.Float](t *testing.T, rs *referenceSession, c parityCase, d typed[T]) (loss, grad []T) {
	t.Helper()
	loss, grad, err := Run(rs.sess, rs.ref, d.labels, d.preds, d.weights, c.cols, c.gamma, c.e)
	require.NoError(t, err)
	require.Len(t, loss, c.rows)
	require.Len(t, grad, c.rows*c.cols)
	return loss, grad
}

// wideGradient returns, for float32, a function that evaluates the wide
// reference's gradient of d's values (see compareCase); nil for float64.
func wideGradient[T goloss.Float](t *testing.T, c parityCase, d typed[T]) func() []float64 {
	if DataType[T]() != tf.Float {
		return nil
	}
	return func() []float64 {
		rs, err := wideSession()
		require.NoError(t, err, "building the wide reference graph")
		d64 := typed[float64]{toFloat64(d.labels), toFloat64(d.preds), toFloat64(d.weights)}
		_, grad := runSession(t, rs, c, d64)
		return grad
	}
}

// core runs goloss.SeedLossGrad on one typed case.
func core[T goloss.Float](t *testing.T, c parityCase, d typed[T]) (loss, grad []T) {
	t.Helper()
	loss, grad = make([]T, c.rows), make([]T, c.rows*c.cols)
	require.NoError(t, goloss.SeedLossGrad(loss, grad, d.labels, d.preds, d.weights, c.cols, goloss.Seed{Gamma: c.gamma, E: c.e}))
	return loss, grad
}

// TestCoreMatchesReference holds the Go core to TensorFlow's evaluation of
// the seed's composite, loss and gradient, in float32 and float64, on every
// parity case (see generate and tolerance).
func TestCoreMatchesReference(t *testing.T) {
	t.Run("float64", testCoreMatchesReference[float64])
	t.Run("float32", testCoreMatchesReference[float32])
}

func testCoreMatchesReference[T goloss.Float](t *testing.T) {
	key := "core " + typeName[T]()
	for _, c := range parityCases() {
		t.Run(c.name, func(t *testing.T) {
			d := convert[T](c)
			loss, grad := core(t, c, d)
			wantLoss, wantGrad := runReference(t, c, d)
			a := analyse(c, d)
			bad, st := compareCase(c, a, loss, grad, wantLoss, wantGrad, wideGradient(t, c, d))
			report(t, bad)
			record(key, st)
		})
	}
	logObserved(t, key)
}

// logObserved logs the largest errors one comparison saw over all cases.
func logObserved(t *testing.T, key string) {
	observed.Lock()
	defer observed.Unlock()
	if s := observed.stats[key]; s != nil {
		t.Logf("%s: max loss error %.3g, max gradient error %.3g (relative to max(|want|, terms)); "+
			"max plain relative gradient error where terms do not cancel %.3g; "+
			"%d gradient values compared, %d within tolerance only relative to their cancelling terms, "+
			"%d at SPEC's y = p exception, %d rows held to the wide reference at a clip bound, %d rows skipped",
			key, s.lossRel, s.gradRel, s.gradPlainRel, s.compared, s.byTerms, s.undefined, s.clipRoundingRows, s.skippedRows)
	}
}

// TestWorkedExample is SPEC's worked example through the reference.
func TestWorkedExample(t *testing.T) {
	w := make([]float64, 3)
	require.NoError(t, goloss.ClassWeights(w, []float64{1, 2, 3}))
	rs := reference[float64](t)
	loss, _, err := Run(rs.sess, rs.ref, []float64{1, 0, 1, 0, 1, 0}, []float64{.9, .3, .4, .2, .5, .05}, w, 3, 2, 0.1)
	require.NoError(t, err)
	assert.InEpsilonSlice(t, []float64{0.13935285744407913, 0.1620203821512099}, loss, 1e-13)
}

// TestNaNAgrees covers SPEC's NaN cases, which the parity cases leave out:
// a soft label below its prediction with a non-integer gamma (no real
// power), and a row whose predictions sum to 0. Both give NaN in the core
// and in TensorFlow's composite, and leave the other rows alone.
func TestNaNAgrees(t *testing.T) {
	t.Run("float64", testNaNAgrees[float64])
	t.Run("float32", testNaNAgrees[float32])
}

func testNaNAgrees[T goloss.Float](t *testing.T) {
	c := parityCase{rows: 3, cols: 3, weights: []float64{0.5, 0.3, 0.2}, labels: []float64{
		0.3, 0, 1, // soft label 0.3 below its prediction 0.6
		1, 0, 0, // a zero row
		1, 0.5, 0, // an ordinary row
	}, preds: []float64{
		0.6, 0.2, 0.7,
		0, 0, 0,
		0.8, 0.25, 0.1,
	}}
	for _, gamma := range []float64{0.5, 3.7} {
		for _, e := range []float64{0, 0.1} {
			t.Run(fmt.Sprintf("gamma%v_e%v", gamma, e), func(t *testing.T) {
				c.gamma, c.e = gamma, e
				d := convert[T](c)
				loss, grad := core(t, c, d)
				wantLoss, wantGrad := runReference(t, c, d)
				for _, l := range [][]T{loss, wantLoss} {
					assert.True(t, math.IsNaN(float64(l[0])), "soft label below its prediction: loss %v", l[0])
					assert.True(t, math.IsNaN(float64(l[1])), "zero row: loss %v", l[1])
				}
				for _, g := range [][]T{grad, wantGrad} {
					assert.True(t, math.IsNaN(float64(g[0])), "soft label below its prediction: grad %v", g[0])
				}
				// The ordinary row is untouched by its neighbours.
				row := parityCase{rows: 1, cols: 3, gamma: gamma, e: e, labels: c.labels[6:], preds: c.preds[6:], weights: c.weights}
				a := analyse(row, convert[T](row))
				bad, _ := compareCase(row, a, loss[2:], grad[6:], wantLoss[2:], wantGrad[6:], nil)
				report(t, bad)
			})
		}
	}
}
