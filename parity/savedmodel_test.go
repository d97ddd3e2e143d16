//go:build tensorflow

package parity_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tf "github.com/wamuir/graft/tensorflow"

	"github.com/gofocal/gofocal/parity"
)

// TestSavedModelFromPython: a SavedModel whose functions call the op, saved
// by Python (python/tests/scripts/save_module.py), loads in Go through graft
// after LoadLibrary and gives what Python computed, loss and gradient.
func TestSavedModelFromPython(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	python := filepath.Join(root, ".venv", "bin", "python")
	dir := filepath.Join(t.TempDir(), "savedmodel")
	cmd := exec.Command(python, filepath.Join(root, "python", "tests", "scripts", "save_module.py"), dir)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2")
	out, err := cmd.Output()
	require.NoError(t, err, "save_module.py (run `make shared-lib` first): %s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var saved struct {
		Example struct {
			Labels, Predictions, Gradient [][]float32
			Loss                          []float32
		}
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &saved))

	_, err = tf.LoadLibrary(parity.OpLibrary())
	require.NoError(t, err)
	model, err := tf.LoadSavedModel(dir, []string{"serve"}, nil)
	require.NoError(t, err)
	defer model.Session.Close()

	sig, ok := model.Signatures["loss_and_gradient"]
	require.True(t, ok, "signatures: %v", model.Signatures)
	labels, err := tf.NewTensor(saved.Example.Labels)
	require.NoError(t, err)
	preds, err := tf.NewTensor(saved.Example.Predictions)
	require.NoError(t, err)
	output := func(name string) tf.Output {
		info, ok := sig.Outputs[name]
		require.True(t, ok, "output %q", name)
		return outputByName(t, model.Graph, info.Name)
	}
	feeds := map[tf.Output]*tf.Tensor{
		outputByName(t, model.Graph, sig.Inputs["labels"].Name):      labels,
		outputByName(t, model.Graph, sig.Inputs["predictions"].Name): preds,
	}
	res, err := model.Session.Run(feeds, []tf.Output{output("loss"), output("gradient")}, nil)
	require.NoError(t, err)
	assert.Equal(t, saved.Example.Loss, res[0].Value().([]float32), "the loss Python computed, bit for bit")
	assert.Equal(t, saved.Example.Gradient, res[1].Value().([][]float32), "the gradient, bit for bit")
	assert.InDeltaSlice(t, []float64{0.13935285744407913, 0.1620203821512099},
		[]float64{float64(res[0].Value().([]float32)[0]), float64(res[0].Value().([]float32)[1])}, 1e-7, "SPEC's worked example")
}

// outputByName finds "op:index" in g.
func outputByName(t *testing.T, g *tf.Graph, name string) tf.Output {
	t.Helper()
	opName, index, found := strings.Cut(name, ":")
	i := 0
	if found {
		var err error
		i, err = strconv.Atoi(index)
		require.NoError(t, err, "output %s", name)
	}
	o := g.Operation(opName)
	require.NotNil(t, o, "operation %s", opName)
	return o.Output(i)
}
