//go:build tensorflow

package parity_test

import (
	"fmt"
	"log"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	// A Go program that runs the op links the Go core and exports its C
	// ABI; the op finds it there instead of loading libgoloss.so.
	_ "github.com/gofocal/gofocal/cgo/capi"
	"github.com/gofocal/gofocal/parity"
)

// One step of gradient descent on a tiny linear multi-label model, trained
// with the op through graft: predictions = sigmoid(x · W), the loss is the
// batch mean of the op's per-sample loss, op.Gradients reaches W through
// the op's C++ gradient, and ResourceApplyGradientDescent updates W.
func ExampleSeedFocalLoss() {
	if _, err := tf.LoadLibrary(parity.OpLibrary()); err != nil {
		log.Fatal(err)
	}
	s := op.NewScope()
	x := op.Const(s.SubScope("x"), [][]float32{
		{1, 0.5, -1}, {0.2, -0.3, 0.8}, {-1, 1, 0.5}, {0.6, 0.9, -0.2},
	})
	labels := op.Const(s.SubScope("labels"), [][]float32{{1, 0}, {0, 1}, {1, 1}, {0, 0}})
	classWeights := op.Const(s.SubScope("class_weights"), []float32{0.4, 0.6})
	gamma := op.Const(s.SubScope("gamma"), 2.0)
	e := op.Const(s.SubScope("e"), 0.1)

	w := op.VarHandleOp(s.SubScope("w"), tf.Float, tf.MakeShape(3, 2), op.VarHandleOpSharedName("w"))
	initW := op.AssignVariableOp(s.SubScope("init"), w, op.Const(s.SubScope("w0"), [][]float32{
		{0.1, -0.2}, {0.3, 0.05}, {-0.1, 0.2},
	}))
	weights := op.ReadVariableOp(s.SubScope("read"), w, tf.Float)
	predictions := op.Sigmoid(s.SubScope("sigmoid"), op.MatMul(s.SubScope("matmul"), x, weights))
	perSample, _ := parity.SeedFocalLoss(s, labels, predictions, classWeights, gamma, e, true)
	loss := op.Mean(s.SubScope("loss"), perSample, op.Const(s.SubScope("axis"), int32(0)))
	grads := op.Gradients(s.SubScope("gradients"), []tf.Output{loss}, []tf.Output{weights})
	step := op.ResourceApplyGradientDescent(s.SubScope("sgd"), w, op.Const(s.SubScope("lr"), float32(2)), grads[0])

	graph, err := s.Finalize()
	if err != nil {
		log.Fatal(err)
	}
	sess, err := tf.NewSession(graph, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Run(nil, nil, []*tf.Operation{initW}); err != nil {
		log.Fatal(err)
	}
	printLoss := func(when string) {
		out, err := sess.Run(nil, []tf.Output{loss}, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("loss %s the step: %.4f\n", when, out[0].Value().(float32))
	}
	printLoss("before")
	if _, err := sess.Run(nil, nil, []*tf.Operation{step}); err != nil {
		log.Fatal(err)
	}
	printLoss("after")
	// Output:
	// loss before the step: 0.0959
	// loss after the step: 0.0947
}
