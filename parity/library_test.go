//go:build tensorflow

package parity_test

import (
	"debug/elf"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofocal/gofocal/parity"
)

// TestOpLibraryDoesNotNeedTheGoLibrary reads the op library's dynamic
// section: it needs TensorFlow (the C++ gradient registry lives in
// libtensorflow_cc.so.2) and never libgoloss.so, which would bring a second
// Go runtime into a Go process.
func TestOpLibraryDoesNotNeedTheGoLibrary(t *testing.T) {
	f, err := elf.Open(parity.OpLibrary())
	require.NoError(t, err, "build it with `make shared-lib`")
	defer f.Close()
	needed, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Contains(t, needed, "libtensorflow_cc.so.2")
	assert.Contains(t, needed, "libtensorflow_framework.so.2")
	for _, lib := range needed {
		assert.NotContains(t, lib, "goloss", "DT_NEEDED %s", lib)
	}
}
