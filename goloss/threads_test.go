package goloss

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestThreadsGiveTheSameBits: rows are independent, so any number of
// goroutines gives bit-identical losses and gradients.
func TestThreadsGiveTheSameBits(t *testing.T) {
	c := seedCase{rows: 300, cols: 257, gamma: 2, e: 0.1, soft: true}
	labels, preds, weights := c.random(17)
	bin := binaryCase{rows: 300, cols: 257, prm: Binary{Gamma: 2.5, Alpha: []float64{0.25}}}
	bLabels, bPreds := bin.random(18)
	run := func(threads int) (seedLoss, seedGrad, binLoss, binGrad []float64) {
		seedLoss, seedGrad = make([]float64, c.rows), make([]float64, c.rows*c.cols)
		require.NoError(t, SeedLossGrad(seedLoss, seedGrad, labels, preds, weights, c.cols, Seed{Gamma: c.gamma, E: c.e, Threads: threads}))
		prm := bin.prm
		prm.Threads = threads
		binLoss, binGrad = make([]float64, bin.rows), make([]float64, bin.rows*bin.cols)
		require.NoError(t, BinaryLossGrad(binLoss, binGrad, bLabels, bPreds, bin.cols, prm))
		return
	}
	l1, g1, b1, bg1 := run(1)
	for _, threads := range []int{0, 2, 3, 8, 1000} {
		l, g, b, bg := run(threads)
		assert.Equal(t, bits(l1), bits(l), "seed loss, %d threads", threads)
		assert.Equal(t, bits(g1), bits(g), "seed grad, %d threads", threads)
		assert.Equal(t, bits(b1), bits(b), "binary loss, %d threads", threads)
		assert.Equal(t, bits(bg1), bits(bg), "binary grad, %d threads", threads)
	}
}

func bits(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = math.Float64bits(x)
	}
	return out
}

// TestChunkPanicReachesTheCaller: a panic on a worker goroutine is raised
// again on the caller's, where the C ABI recovers it.
func TestChunkPanicReachesTheCaller(t *testing.T) {
	assert.PanicsWithValue(t, "boom", func() {
		forRowChunks(1000, 1000, 4, func(lo, hi int) {
			if lo > 0 {
				panic("boom")
			}
		})
	})
	var covered [1000]bool
	forRowChunks(1000, 1000, 3, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			covered[i] = true
		}
	})
	for i, ok := range covered {
		require.True(t, ok, "row %d", i)
	}
}

// TestChunksCoverEveryRowOnce: forRowChunksChecked checks every row once,
// then runs every row once, on 1 to 9 goroutines, also with fewer Ps than
// goroutines (GOMAXPROCS 1: the spin-waits must give way) and with a check
// that fails (nothing runs).
func TestChunksCoverEveryRowOnce(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) }) // also when an assertion stops the test
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, rows := range []int{1, 7, 1000, 4096} {
			for _, threads := range []int{1, 2, 3, 9} {
				for _, fail := range []bool{false, true} {
					checked := make([]atomic.Int32, rows)
					ran := make([]atomic.Int32, rows)
					ok := forRowChunksChecked(rows, 1000, threads, func(lo, hi int) bool {
						for i := lo; i < hi; i++ {
							checked[i].Add(1)
						}
						return !fail || hi < rows
					}, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							ran[i].Add(1)
						}
					})
					name := fmt.Sprintf("GOMAXPROCS %d, %d rows, %d threads, failing check %v", procs, rows, threads, fail)
					require.Equal(t, !fail, ok, name)
					for i := range rows {
						require.EqualValues(t, 1, checked[i].Load(), "%s: row %d checked", name, i)
						want := int32(1)
						if fail {
							want = 0
						}
						require.Equal(t, want, ran[i].Load(), "%s: row %d run", name, i)
					}
				}
			}
		}
	}
}

// TestChunksFromManyCallers: calls from several goroutines at once (one
// has the helper threads, the others start goroutines) and calls one after
// another (a helper woken for each, its state handed back each time), each
// row checked and run once in every call.
func TestChunksFromManyCallers(t *testing.T) {
	const rows = 64
	call := func() error {
		var checked, ran [rows]atomic.Int32
		forRowChunksChecked(rows, 1<<14, 3, func(lo, hi int) bool {
			for i := lo; i < hi; i++ {
				checked[i].Add(1)
			}
			return true
		}, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				ran[i].Add(1)
			}
		})
		for i := range rows {
			if c, r := checked[i].Load(), ran[i].Load(); c != 1 || r != 1 {
				return fmt.Errorf("row %d checked %d times, run %d times", i, c, r)
			}
		}
		return nil
	}
	for range 2000 {
		require.NoError(t, call())
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for range 200 {
				if err = call(); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

// TestThreadsNameTheFirstBadProbability: with the rows checked in chunks at
// once, the error still names the first offending index.
func TestThreadsNameTheFirstBadProbability(t *testing.T) {
	rows, cols := 1000, 40
	preds, labels := make([]float64, rows*cols), make([]float64, rows*cols)
	for i := range preds {
		preds[i] = 0.5
	}
	preds[900*cols+3], preds[100*cols+7], preds[100*cols+9] = 2, 1.5, -1
	for _, threads := range []int{1, 2, 8} {
		err := SeedLossGrad(make([]float64, rows), nil, labels, preds, make([]float64, cols), cols, Seed{Threads: threads})
		require.ErrorIs(t, err, ErrValue)
		assert.Contains(t, err.Error(), "predictions[100, 7] = 1.5", "%d threads", threads)
	}
}

// TestProbabilityCheckOnEveryKernel: the vector kernels' quick pass and the
// scalar loop agree on what is an error, for both element types and every
// position of the bad value (bulk lanes and tail).
func TestProbabilityCheckOnEveryKernel(t *testing.T) {
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			for _, n := range []int{1, 7, 8, 15, 16, 17, 40} {
				for at := 0; at < n; at++ {
					for _, bad := range []float64{-1e-30, 1.0000001, 2, math.Inf(1), math.NaN()} {
						p := make([]float64, n)
						for i := range p {
							p[i] = float64(i%3) / 2
						}
						p[at] = bad
						want := !math.IsInf(bad, 0) && !math.IsNaN(bad)
						err64 := checkProbabilities(p, n, 1)
						err32 := checkProbabilities(toF32(p), n, 1)
						assert.Equal(t, want, err64 != nil, "float64 n %d at %d value %v", n, at, bad)
						if float32(bad) > 1 || float32(bad) < 0 {
							assert.Equal(t, want, err32 != nil, "float32 n %d at %d value %v", n, at, bad)
						}
					}
				}
			}
		})
	}
}

// TestSeedCheckedSums: where the check of p runs the kernel's first pass
// and the rows take its sums (seedSumsChecked: the avx2 and avx512
// kernels on float32), the results have the bits of an unchecked call, for several
// shapes and thread counts, with unknown labels (whose rows run in blocks
// of their own), with a NaN p (which passes the check) and an infinite one
// (which fails it: the rows then run their own first pass); and an invalid
// p is an error that names it, with nothing written.
func TestSeedCheckedSums(t *testing.T) {
	for _, kernel := range Kernels() {
		t.Run(kernel, func(t *testing.T) {
			useKernel(t, kernel)
			for _, shape := range [][2]int{{1, 1}, {3, 7}, {40, 8}, {33, 9}, {300, 257}, {70, 1000}} {
				rows, cols := shape[0], shape[1]
				c := seedCase{rows: rows, cols: cols, gamma: 2, e: 0.1, soft: true}
				labels64, preds64, weights64 := c.random(uint64(rows + cols))
				labels, weights := toF32(labels64), toF32(weights64)
				for _, tc := range []struct {
					name   string
					poison float32 // placed in the middle row; 0: none
					ignore bool
				}{{"valid", 0, false}, {"unknown labels", 0, true}, {"NaN p", float32(math.NaN()), false}, {"+Inf p", float32(math.Inf(1)), true}} {
					preds := toF32(preds64)
					if tc.poison != 0 {
						preds[(rows/2)*cols+cols/2] = tc.poison
					}
					y := labels
					if tc.ignore {
						y = append([]float32(nil), labels...)
						for i := 0; i < len(y); i += 5 {
							y[i] = 2 // unknown
						}
					}
					for _, threads := range []int{1, 2, 3} {
						name := fmt.Sprintf("%dx%d %s, %d threads", rows, cols, tc.name, threads)
						prm := Seed{Gamma: 2, E: 0.1, Threads: threads, HasIgnore: tc.ignore, IgnoreValue: 2}
						lossC, gradC := make([]float32, rows), make([]float32, rows*cols)
						require.NoError(t, SeedLossGrad(lossC, gradC, y, preds, weights, cols, prm), name)
						prm.NoValidate = true
						lossU, gradU := make([]float32, rows), make([]float32, rows*cols)
						require.NoError(t, SeedLossGrad(lossU, gradU, y, preds, weights, cols, prm), name)
						require.Equal(t, bits32(lossU), bits32(lossC), "%s: loss", name)
						require.Equal(t, bits32(gradU), bits32(gradC), "%s: gradient", name)
					}
				}
				// An invalid p: an error naming it, nothing written.
				preds := toF32(preds64)
				at := (rows-1)*cols + cols/3
				preds[at] = 1.5
				loss, grad := make([]float32, rows), make([]float32, rows*cols)
				for i := range grad {
					grad[i] = 7
				}
				err := SeedLossGrad(loss, grad, labels, preds, weights, cols, Seed{Gamma: 2, E: 0.1, Threads: 2})
				require.ErrorIs(t, err, ErrValue)
				require.Contains(t, err.Error(), fmt.Sprintf("[%d, %d]", at/cols, at%cols))
				for i := range grad {
					require.Equal(t, float32(7), grad[i], "grad[%d] written on error", i)
				}
			}
		})
	}
}

func bits32(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}
